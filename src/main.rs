//! The `tete` binary: everything lives in the library so tests link the same code.
fn main() -> std::process::ExitCode {
    tete::cli::main()
}
