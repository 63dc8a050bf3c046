//! The README's configuration table lists every setting the server reads.

#[test]
fn readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for key in laneswap::config::ALL_KEYS {
        let row = format!("| `{}` | `{}` |", key.file, key.env[0]);
        assert!(
            readme.contains(&row),
            "README lacks the row for {}",
            key.env[0]
        );
        if let Some(flag) = key.flag {
            assert!(readme.contains(&format!("`{flag}`")), "README lacks {flag}");
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    let command = "cargo test --locked";
    assert!(readme.contains(&format!("```sh\n{command}\n```")));
    assert!(ci.lines().any(|line| line.trim() == command));
}

#[test]
fn the_readme_shows_every_screenshot_and_they_are_up_to_date() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for scene in laneswap::tui::screenshot::scenes() {
        let path = format!("screenshots/{}.svg", scene.name);
        assert!(
            readme.contains(&format!("({path})")),
            "README does not show {path}"
        );
        let committed = std::fs::read_to_string(format!("{root}/{path}"))
            .unwrap_or_else(|_| panic!("{path} is missing: cargo run --example screenshots"));
        assert!(
            committed == scene.svg(),
            "{path} is out of date: cargo run --example screenshots"
        );
    }
}
