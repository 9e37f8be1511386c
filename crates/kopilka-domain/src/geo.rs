//! Distances on the Earth for "stores nearby": great-circle metres, and the latitude and
//! longitude box that a radius covers, so a store can find candidates by index first.

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Half the Earth's circumference: no two points are further apart.
pub const MAX_DISTANCE_M: f64 = std::f64::consts::PI * EARTH_RADIUS_M;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// Degrees, WGS 84; `None` outside the valid ranges or not finite.
    pub fn new(lat: f64, lon: f64) -> Option<Self> {
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Self { lat, lon })
    }

    /// Great-circle distance by the haversine formula, in metres.
    pub fn distance_m(self, other: Point) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// A box that holds every point within `radius_m` (and some more at its corners).
    pub fn bounding_box(self, radius_m: f64) -> BoundingBox {
        let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
        let min_lat = self.lat - dlat;
        let max_lat = self.lat + dlat;
        // Near a pole, or when the radius spans the globe, every longitude is in reach.
        let cos = self
            .lat
            .abs()
            .max(min_lat.abs())
            .max(max_lat.abs())
            .min(90.0)
            .to_radians()
            .cos();
        let dlon = if cos < 1e-9 { 180.0 } else { dlat / cos };
        let (min_lon, max_lon) = if dlon >= 180.0 {
            (-180.0, 180.0)
        } else {
            (self.lon - dlon, self.lon + dlon)
        };
        BoundingBox {
            min_lat: min_lat.max(-90.0),
            max_lat: max_lat.min(90.0),
            min_lon,
            max_lon,
        }
    }
}

/// Longitudes may pass ±180 here; [`BoundingBox::lon_ranges`] splits such a box in two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl BoundingBox {
    /// The longitude ranges to look in, each within [-180, 180].
    pub fn lon_ranges(&self) -> Vec<(f64, f64)> {
        if self.min_lon < -180.0 {
            vec![(self.min_lon + 360.0, 180.0), (-180.0, self.max_lon)]
        } else if self.max_lon > 180.0 {
            vec![(self.min_lon, 180.0), (-180.0, self.max_lon - 360.0)]
        } else {
            vec![(self.min_lon, self.max_lon)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).expect("valid")
    }

    #[test]
    fn moscow_to_saint_petersburg_is_about_634_km() {
        let d = p(55.7558, 37.6173).distance_m(p(59.9386, 30.3141));
        assert!((d - 634_000.0).abs() < 3_000.0, "{d}");
    }

    #[test]
    fn a_box_holds_its_circle() {
        let centre = p(55.75, 37.62);
        let bbox = centre.bounding_box(10_000.0);
        for bearing in 0..36 {
            let angle = f64::from(bearing * 10).to_radians();
            // A point about 9.9 km away in each direction.
            let q = p(
                centre.lat + 0.089 * angle.cos(),
                centre.lon + 0.089 / centre.lat.to_radians().cos() * angle.sin(),
            );
            assert!(centre.distance_m(q) < 10_000.0);
            assert!(q.lat >= bbox.min_lat && q.lat <= bbox.max_lat);
            assert!(q.lon >= bbox.min_lon && q.lon <= bbox.max_lon);
        }
    }

    #[test]
    fn boxes_across_the_date_line_split() {
        let bbox = p(65.0, 179.9).bounding_box(50_000.0);
        let ranges = bbox.lon_ranges();
        assert_eq!(ranges.len(), 2);
        assert!(ranges
            .iter()
            .all(|(a, b)| a <= b && *a >= -180.0 && *b <= 180.0));
    }

    #[test]
    fn invalid_points_are_refused() {
        assert!(Point::new(91.0, 0.0).is_none());
        assert!(Point::new(0.0, f64::NAN).is_none());
    }
}
