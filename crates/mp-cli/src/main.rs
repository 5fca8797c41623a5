//! The `mp` binary: everything lives in the `mp_cli` library.

fn main() -> std::process::ExitCode {
    mp_cli::main(std::env::args_os())
}
