//! bpflock-gen: the man page and shell completions, from bpflock's own clap definitions.
//!   bpflock-gen man > bpflock.8
//!   bpflock-gen completions bash|zsh|fish > FILE

use bpflock::cli;
use clap::CommandFactory;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = cli::Cli::command();
    let mut out = std::io::stdout();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["man"] => clap_mangen::Man::new(cmd).section("8").render(&mut out).expect("man page renders"),
        ["completions", shell] => {
            let shell: clap_complete::Shell = shell.parse().unwrap_or_else(|e| {
                eprintln!("bpflock-gen: {e}");
                std::process::exit(2)
            });
            clap_complete::generate(shell, &mut cmd, "bpflock", &mut out);
        }
        _ => {
            eprintln!("usage: bpflock-gen man | bpflock-gen completions bash|zsh|fish");
            std::process::exit(2);
        }
    }
}
