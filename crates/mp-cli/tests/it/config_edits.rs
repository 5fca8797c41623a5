//! Every command that writes the config keeps a hand-edited file's comments: one comment is
//! placed in every table, and each write must leave every comment of every table that still
//! exists.

use crate::home::{Home, mode};
use crate::support::TestSandbox;

const CONFIG: &str = r#"# My mp config. Keep this line.

[active] # the active account
# Comment inside [active].
account = "alpha"

# Comment above [accounts.alpha].
[accounts.alpha]
# Comment inside [accounts.alpha].
type = "service_account"
region = "us"
username = "sandbox"
secret = "sandbox" # trailing comment on a secret
default_project = "1"

[accounts.beta]
# Comment inside [accounts.beta].
type = "oauth_token"
region = "us"
token_env = "BETA_TOKEN"

[targets.prod]
# Comment inside [targets.prod].
account = "beta"
project = "2"

[settings]
# Comment inside [settings].
custom_header = { name = "X-Team", value = "blue" } # trailing comment
"#;

const COMMENTS: &[&str] = &[
    "# My mp config. Keep this line.",
    "# the active account",
    "# Comment inside [active].",
    "# Comment above [accounts.alpha].",
    "# Comment inside [accounts.alpha].",
    "# trailing comment on a secret",
    "# Comment inside [accounts.beta].",
    "# Comment inside [targets.prod].",
    "# Comment inside [settings].",
    "# trailing comment",
];

/// One command: its arguments, its environment, its stdin.
type Step<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], Option<&'a str>);

#[test]
fn auth_commands_keep_every_comment() {
    let sandbox = TestSandbox::start();
    let home = Home::new(Some(sandbox.base_url()));
    home.write_config(CONFIG);
    let sa = [("MP_USERNAME", "sandbox"), ("MP_SECRET", "sandbox")];
    let steps: &[Step] = &[
        (
            &[
                "account",
                "add",
                "gamma",
                "--type",
                "service_account",
                "--username",
                "sandbox",
                "--region",
                "eu",
                "--secret-stdin",
            ],
            &[],
            Some("sandbox\n"),
        ),
        (&["account", "update", "alpha", "--project", "2"], &[], None),
        (
            &["account", "update", "beta", "--token-env", "OTHER_TOKEN"],
            &[],
            None,
        ),
        (&["account", "use", "beta"], &[], None),
        (
            &[
                "target", "add", "staging", "-a", "alpha", "-p", "1", "-w", "3",
            ],
            &[],
            None,
        ),
        (&["target", "use", "prod"], &[], None),
        (&["project", "use", "1"], &[], None),
        (&["workspace", "use", "3"], &[], None),
        (&["login", "--name", "delta", "--project", "1"], &sa, None),
        (&["login", "--name", "alpha"], &sa, None),
        (&["target", "remove", "staging"], &[], None),
        (&["account", "remove", "gamma"], &[], None),
        (&["account", "logout", "delta"], &[], None),
    ];
    for (args, env, stdin) in steps {
        let run = match stdin {
            Some(input) => home.run_with_stdin(args, env, input),
            None => home.run(args, env),
        };
        assert_eq!(run.code, Some(0), "mp {args:?}: {run:#?}");
        let config = home.config();
        for comment in COMMENTS {
            assert!(
                config.contains(comment),
                "mp {args:?} dropped `{comment}`:\n{config}"
            );
        }
        assert_eq!(mode(&home.config_path()), 0o600, "mp {args:?}");
    }
    let config = home.config();
    // The edits themselves happened.
    assert!(config.contains("token_env = \"OTHER_TOKEN\""), "{config}");
    assert!(config.contains("[accounts.delta]"), "{config}");
    assert!(!config.contains("[accounts.gamma]"), "{config}");
    assert!(!config.contains("[targets.staging]"), "{config}");
    // `login --name alpha` logged in again: active, its default project kept.
    assert!(config.contains("account = \"alpha\"\n\n"), "{config}");
    assert!(
        config.contains(
            "secret = \"sandbox\" # trailing comment on a secret\ndefault_project = \"2\""
        ),
        "{config}"
    );
}
