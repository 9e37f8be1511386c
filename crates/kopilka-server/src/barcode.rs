//! EAN-13 pictures of card numbers, with the quiet zones a scanner needs on either side.

use barcoders::generators::image::Image;
use barcoders::generators::svg::SVG;
use barcoders::sym::ean13::EAN13;
use kopilka_domain::CardNumber;

/// White modules left and right of the bars: EAN-13 asks for 11 and 7; 11 on both is safe.
const QUIET_ZONE: usize = 11;

fn modules(number: &CardNumber) -> Result<Vec<u8>, String> {
    let bars = EAN13::new(number.as_str())
        .map_err(|e| e.to_string())?
        .encode();
    let mut padded = vec![0u8; QUIET_ZONE];
    padded.extend(bars);
    padded.extend(std::iter::repeat_n(0u8, QUIET_ZONE));
    Ok(padded)
}

pub fn svg(number: &CardNumber) -> Result<String, String> {
    SVG::new(90)
        .xdim(3)
        .xmlns("http://www.w3.org/2000/svg".to_owned())
        .generate(modules(number)?)
        .map_err(|e| e.to_string())
}

pub fn png(number: &CardNumber) -> Result<Vec<u8>, String> {
    let Image::PNG {
        height,
        rotation,
        foreground,
        background,
        ..
    } = Image::png(120)
    else {
        return Err("PNG generator".into());
    };
    Image::PNG {
        height,
        xdim: 3,
        rotation,
        foreground,
        background,
    }
    .generate(modules(number)?)
    .map_err(|e| e.to_string())
}
