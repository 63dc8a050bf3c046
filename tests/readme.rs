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
