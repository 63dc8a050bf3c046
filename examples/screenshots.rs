//! Writes the README's screenshots into `screenshots/` from the real
//! rendering code and the fixture data (`laneswap::tui::fixtures`):
//!
//!     cargo run --example screenshots
//!
//! Each image is an SVG of one screen at 120×32 cells. A test
//! (`tests/readme.rs`) fails when the committed images are out of date.

fn main() -> std::io::Result<()> {
    std::fs::create_dir_all("screenshots")?;
    for scene in laneswap::tui::screenshot::scenes() {
        let path = format!("screenshots/{}.svg", scene.name);
        std::fs::write(&path, scene.svg())?;
        println!("wrote {path}");
    }
    Ok(())
}
