//! Rebuild when migrations or the embedded display client change.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=display-client");
}
