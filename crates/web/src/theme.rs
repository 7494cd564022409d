//! Per-authority look through CSS custom properties, with the WCAG contrast rule enforced.

/// Fallback colour (contrast 8.6:1 on white).
pub const DEFAULT_PRIMARY: &str = "#1d4f91";

fn channel(hex: &str) -> Option<f64> {
    let v = f64::from(u8::from_str_radix(hex, 16).ok()?) / 255.0;
    Some(if v <= 0.039_28 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) })
}

/// Relative luminance of `#rrggbb` (WCAG 2.1).
#[must_use]
pub fn luminance(color: &str) -> Option<f64> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    Some(0.2126 * channel(&hex[0..2])? + 0.7152 * channel(&hex[2..4])? + 0.0722 * channel(&hex[4..6])?)
}

/// Contrast ratio between two `#rrggbb` colours.
#[must_use]
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let (la, lb) = (luminance(a)?, luminance(b)?);
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// The primary colour to use: the authority's own when white text on it meets
/// AA (4.5:1), else the default, so a badly chosen colour never breaks contrast.
#[must_use]
pub fn primary_color(wanted: &str) -> &str {
    match contrast(wanted, "#ffffff") {
        Some(c) if c >= 4.5 => wanted,
        _ => DEFAULT_PRIMARY,
    }
}

/// The authority's look: its primary colour for our own rules (`--color-primary`)
/// and as KERN's action and brand colour, so buttons, links, focus-adjacent states
/// and the hover shades KERN derives from it (`color-mix`) follow the tenant.
/// Loaded after kern.min.css and amtsweg.css, so these declarations win; `html`
/// carries `data-kern-theme="light"` with the same specificity as `:root`.
#[must_use]
pub fn css(primary: &str) -> String {
    let p = primary_color(primary);
    format!(
        ":root {{ --color-primary: {p}; --kern-color-action-default: {p}; --kern-color-decorative-brand-default: {p}; }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_enforced() {
        assert!(contrast("#000000", "#ffffff").unwrap() > 20.9);
        assert_eq!(primary_color("#ffff00"), DEFAULT_PRIMARY);
        assert_eq!(primary_color("#1d4f91"), "#1d4f91");
        assert_eq!(primary_color("red; } body { display:none"), DEFAULT_PRIMARY);
    }

    #[test]
    fn the_tenant_colour_drives_kern() {
        let out = css("#225522");
        assert!(out.contains("--color-primary: #225522;"));
        assert!(out.contains("--kern-color-action-default: #225522;"));
        assert!(out.contains("--kern-color-decorative-brand-default: #225522;"));
        assert!(css("#ffff00").contains(&format!("--kern-color-action-default: {DEFAULT_PRIMARY};")));
    }
}
