//! Theme and keymap files: where they are found and how their errors read.
//!
//! Built-in files (the repository's `themes/` and `keymaps/`) are compiled
//! in; a user file `$XDG_CONFIG_HOME/laneswap/<kind>/<name>.toml` with the
//! same name patches the built-in one, and a user file with a new name
//! stands alone (or `inherits` another).

use std::path::PathBuf;

/// A refused theme or keymap file: which file, which line, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct FileError {
    /// A path, or `builtin:<kind>/<name>.toml`.
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// One file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: String,
    pub text: String,
}

impl Source {
    /// An error at byte `offset` of this file.
    pub fn error_at(&self, offset: usize, reason: impl Into<String>) -> FileError {
        FileError {
            file: self.file.clone(),
            line: line_of(&self.text, offset),
            reason: reason.into(),
        }
    }

    /// Parses the TOML into `T`, reporting syntax and shape errors with
    /// their line.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(&self.text).map_err(|error| {
            let offset = error.span().map(|span| span.start).unwrap_or(0);
            let reason = error.message().trim().to_string();
            self.error_at(offset, reason)
        })
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The user's directory for `kind` (`themes` or `keymaps`).
pub fn user_dir(kind: &str) -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("laneswap").join(kind))
}

/// The built-in file and the user's file of that name, in that order
/// (either may be missing). An I/O error reading the user's file is an
/// error: silently ignoring a file the user wrote would hide their change.
pub fn find(
    kind: &str,
    name: &str,
    builtins: &[(&str, &str)],
) -> Result<(Option<Source>, Option<Source>), FileError> {
    let builtin = builtins
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(builtin, text)| Source {
            file: format!("builtin:{kind}/{builtin}.toml"),
            text: (*text).to_string(),
        });
    let user = match user_dir(kind) {
        Some(dir) => {
            let path = dir.join(format!("{name}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(Source {
                    file: path.display().to_string(),
                    text,
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(error) => {
                    return Err(FileError {
                        file: path.display().to_string(),
                        line: 0,
                        reason: format!("cannot read: {error}"),
                    })
                }
            }
        }
        None => None,
    };
    Ok((builtin, user))
}

/// Something built from layered files (a theme, a keymap): the built-in
/// file of a name, then the user's file of that name, each of which may
/// `inherits` another name first.
pub trait Layered {
    /// The directory of its files: `themes` or `keymaps`.
    const KIND: &'static str;
    /// How errors name it: `theme` or `keymap`.
    const WHAT: &'static str;
    const BUILTIN: &'static [(&'static str, &'static str)];

    /// Applies one file (calling [`inherit`] for its `inherits`).
    fn layer(&mut self, source: &Source, depth: usize) -> Result<(), FileError>;
}

/// Applies the built-in and the user's file named `name`, in that order.
pub fn layer_named<T: Layered>(target: &mut T, name: &str, depth: usize) -> Result<(), FileError> {
    let (builtin, user) = find(T::KIND, name, T::BUILTIN)?;
    if builtin.is_none() && user.is_none() {
        return Err(FileError {
            file: format!("{}/{name}.toml", T::KIND),
            line: 0,
            reason: format!(
                "no {} named `{name}` (available: {})",
                T::WHAT,
                available(T::KIND, T::BUILTIN).join(", ")
            ),
        });
    }
    for source in [builtin, user].into_iter().flatten() {
        target.layer(&source, depth)?;
    }
    Ok(())
}

/// Applies the parent a file `inherits`; an error about the parent's name
/// points at the `inherits` line.
pub fn inherit<T: Layered>(
    target: &mut T,
    source: &Source,
    parent: &toml::Spanned<String>,
    depth: usize,
) -> Result<(), FileError> {
    let at = parent.span().start;
    if depth > 8 {
        return Err(source.error_at(at, "`inherits` goes round in a loop"));
    }
    layer_named(target, parent.get_ref(), depth + 1).map_err(|inner| {
        if inner.line == 0 {
            source.error_at(at, inner.reason)
        } else {
            inner
        }
    })
}

/// Names available for `kind`: built-ins, then the user's.
pub fn available(kind: &str, builtins: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = builtins.iter().map(|(name, _)| name.to_string()).collect();
    if let Some(dir) = user_dir(kind) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut user: Vec<String> = entries
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| {
                    let path = entry.path();
                    (path.extension()? == "toml")
                        .then(|| path.file_stem()?.to_str().map(str::to_string))
                        .flatten()
                })
                .filter(|name| !names.contains(name))
                .collect();
            user.sort();
            names.extend(user);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        let text = "a = 1\nb = 2\nc = 3\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 6), 2);
        assert_eq!(line_of(text, 13), 3);
        assert_eq!(line_of(text, 999), 4);
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let source = Source {
            file: "x.toml".into(),
            text: "name = \"ok\"\nbroken = \n".into(),
        };
        let error = source.parse::<toml::Table>().unwrap_err();
        assert_eq!(error.file, "x.toml");
        assert_eq!(error.line, 2, "{error}");
    }
}
