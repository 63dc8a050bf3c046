//! Tests of settings layering and checks.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Layer {
    Layer::from_variables(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn defaults_are_valid() {
    let settings = Settings::resolve(&Layers::default()).unwrap();
    assert_eq!(settings.listen, "127.0.0.1:8000".parse().unwrap());
    assert_eq!(settings.stale_threshold_secs, 60.0);
}

#[test]
fn precedence_is_flag_env_dotenv_file() {
    let file = Layer::from_toml(
        "stale_threshold = 10\n[history]\nmax_age_days = 3\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let dotenv = vars(&[
        ("LANESWAP_STALE_THRESHOLD", "20"),
        ("LANESWAP_HISTORY_MAX_DAYS", "4"),
    ]);
    let env = vars(&[("LANESWAP_STALE_THRESHOLD", "30")]);
    let flags = Layer::from_flags(&[(STALE_THRESHOLD, Some("40".into()))]);
    let all = Settings::resolve(&Layers::new(
        flags,
        env.clone(),
        dotenv.clone(),
        file.clone(),
    ))
    .unwrap();
    assert_eq!(all.stale_threshold_secs, 40.0);
    assert_eq!(all.retention.max_age_days, 4);
    let no_flag = Settings::resolve(&Layers::new(
        Layer::default(),
        env,
        dotenv.clone(),
        file.clone(),
    ))
    .unwrap();
    assert_eq!(no_flag.stale_threshold_secs, 30.0);
    let no_env = Settings::resolve(&Layers::new(
        Layer::default(),
        Layer::default(),
        dotenv,
        file.clone(),
    ))
    .unwrap();
    assert_eq!(no_env.stale_threshold_secs, 20.0);
    let file_only = Settings::resolve(&Layers::new(
        Layer::default(),
        Layer::default(),
        Layer::default(),
        file,
    ))
    .unwrap();
    assert_eq!(file_only.stale_threshold_secs, 10.0);
    assert_eq!(file_only.retention.max_age_days, 3);
}

#[test]
fn host_and_port_combine_with_listen_by_precedence() {
    let file = Layer::from_toml("listen = \"0.0.0.0:9000\"", Path::new("c.toml")).unwrap();
    let env = vars(&[("LANESWAP_PORT", "9100")]);
    let settings =
        Settings::resolve(&Layers::new(Layer::default(), env, Layer::default(), file)).unwrap();
    assert_eq!(settings.listen, "0.0.0.0:9100".parse().unwrap());
    let flags = Layer::from_flags(&[(LISTEN, Some("127.0.0.1:7000".into()))]);
    let env = vars(&[("LANESWAP_PORT", "9100")]);
    let settings =
        Settings::resolve(&Layers::new(flags, env, Layer::default(), Layer::default())).unwrap();
    assert_eq!(settings.listen, "127.0.0.1:7000".parse().unwrap());
}

#[test]
fn bad_values_name_the_key_and_value() {
    let env = vars(&[("LANESWAP_STALE_THRESHOLD", "soon")]);
    let error = Settings::resolve(&Layers::new(
        Layer::default(),
        env,
        Layer::default(),
        Layer::default(),
    ))
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value for LANESWAP_STALE_THRESHOLD (from environment): \"soon\": expected a number of seconds greater than 0"
    );
    let error = Layer::from_toml("stale_treshold = 5", Path::new("c.toml")).unwrap_err();
    assert!(
        error.to_string().contains("unknown key \"stale_treshold\""),
        "{error}"
    );
}

#[test]
fn config_file_webhooks_become_read_only_channels() {
    let text = r#"
        [[webhooks]]
        name = "ops"
        url = "https://discord.com/api/webhooks/1/secret"
        levels = ["warning", "error"]

        [[webhooks]]
        url = "http://127.0.0.1:9000/in"
        services = ["db"]
    "#;
    let file = Layer::from_toml(text, Path::new("c.toml")).unwrap();
    let settings = Settings::resolve(&Layers::new(
        Layer::default(),
        Layer::default(),
        Layer::default(),
        file,
    ))
    .unwrap();
    assert_eq!(settings.file_webhooks.len(), 2);
    let ops = &settings.file_webhooks[0];
    assert_eq!(ops.id, "config-1");
    assert_eq!(ops.kind, crate::core::ChannelKind::Discord);
    assert_eq!(ops.url, "https://discord.com/api/v10/webhooks/1/secret");
    assert_eq!(ops.levels.len(), 2);
    assert_eq!(
        settings.file_webhooks[1].kind,
        crate::core::ChannelKind::Webhook
    );

    let bad = Layer::from_toml("[[webhooks]]\nurl = \"ftp://x\"\n", Path::new("c.toml")).unwrap();
    let error = Settings::resolve(&Layers::new(
        Layer::default(),
        Layer::default(),
        Layer::default(),
        bad,
    ))
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid value for webhooks[0].url (from config file)"),
        "{error}"
    );
    let unknown = Layer::from_toml(
        "[[webhooks]]\nurl = \"http://h/x\"\nlevel = []\n",
        Path::new("c.toml"),
    );
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `level`"));
}

#[test]
fn uri_passwords_are_redacted() {
    assert_eq!(
        redact_uri("mongodb://bob:secret@db:27017/x"),
        "mongodb://bob:****@db:27017/x"
    );
    assert_eq!(redact_uri("mongodb://db:27017"), "mongodb://db:27017");
}

#[test]
fn api_tokens_are_read_and_a_bad_one_is_never_shown() {
    let env = vars(&[(
        "LANESWAP_API_TOKENS",
        "ops:admin:0123456789abcdef0123, ci:ingest:fedcba9876543210",
    )]);
    let layers = Layers::new(Layer::default(), env, Layer::default(), Layer::default());
    let settings = Settings::resolve(&layers).unwrap();
    assert_eq!(settings.api_tokens.len(), 2);
    assert_eq!(
        settings.api_tokens.find("fedcba9876543210").unwrap().name,
        "ci"
    );
    assert!(!format!("{settings:?}").contains("0123456789abcdef0123"));

    let env = vars(&[("LANESWAP_API_TOKENS", "ops:admin:short-secret")]);
    let layers = Layers::new(Layer::default(), env, Layer::default(), Layer::default());
    let error = Settings::resolve(&layers).unwrap_err().to_string();
    assert!(error.contains("LANESWAP_API_TOKENS"), "{error}");
    assert!(error.contains("at least 16 characters"), "{error}");
    assert!(!error.contains("short-secret"), "{error}");
    assert!(Settings::resolve(&Layers::default())
        .unwrap()
        .api_tokens
        .is_empty());
}
