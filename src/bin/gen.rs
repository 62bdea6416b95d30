//! bpflock-gen: the man pages and shell completions, from bpflock's own clap definitions.
//!   bpflock-gen man DIR      bpflock.8 and one bpflock-COMMAND.8 per subcommand, in DIR
//!   bpflock-gen completions bash|zsh|fish > FILE

use std::{fs::File, path::Path};

use bpflock::cli;
use clap::CommandFactory;

fn render(cmd: clap::Command, path: &Path) {
    let mut out = File::create(path).unwrap_or_else(|e| {
        eprintln!("bpflock-gen: {}: {e}", path.display());
        std::process::exit(1)
    });
    clap_mangen::Man::new(cmd).section("8").render(&mut out).expect("man page renders");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = cli::Cli::command();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["man", dir] => {
            let dir = Path::new(dir);
            // `help` has no page of its own: bpflock(8) must not list one.
            cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                // clap names are &'static str; a generator that exits may leak them.
                let name: &'static str = Box::leak(format!("bpflock-{}", sub.get_name()).into_boxed_str());
                let page = sub
                    .clone()
                    .name(name)
                    .display_name(name)
                    .bin_name(format!("bpflock {}", sub.get_name()))
                    .after_long_help("See bpflock(8) for the exit statuses and bpflock.toml(5) for the policy format.");
                render(page, &dir.join(format!("{name}.8")));
            }
            let subs: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| s.get_name() != "help")
                .map(|s| format!("bpflock-{}(8)", s.get_name()))
                .collect();
            let main = cmd.after_long_help(format!(
                "Exit status: 0 success, 1 failure while applying, 2 invalid policy or command line, \
                 3 this kernel cannot enforce the policy, 4 not privileged (status: 5 nothing pinned).\n\n\
                 See also: {}, bpflock.toml(5).",
                subs.join(", ")
            ));
            render(main, &dir.join("bpflock.8"));
        }
        ["completions", shell] => {
            let shell: clap_complete::Shell = shell.parse().unwrap_or_else(|e| {
                eprintln!("bpflock-gen: {e}");
                std::process::exit(2)
            });
            clap_complete::generate(shell, &mut cmd, "bpflock", &mut std::io::stdout());
        }
        _ => {
            eprintln!("usage: bpflock-gen man DIR | bpflock-gen completions bash|zsh|fish");
            std::process::exit(2);
        }
    }
}
