//! The submission's map, drawn as an inline SVG from the stored geometry, with
//! no tile server: the village boundary, the household's recorded location,
//! the submitted geotag and each photo's EXIF position, with the distance
//! between each pair of points. Pure: geometry in, markup out.

use geo::{Distance, Haversine, Point};
use maud::{html, Markup};

use crate::locale::Lang;

/// Drawing size in SVG user units (the picture scales to its box).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const MARGIN: f64 = 36.0;

/// A marked point: what it is, and where (latitude, longitude).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub kind: MarkKind,
    pub label: String,
    pub at: (f64, f64),
}

/// What a marked point is; each kind has its colour and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Household,
    Geotag,
    Photo,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            MarkKind::Household => "household",
            MarkKind::Geotag => "geotag",
            MarkKind::Photo => "photo",
        }
    }
}

/// What the map shows.
#[derive(Debug, Clone, Default)]
pub struct MapInput {
    /// The village's boundary rings (outer rings of its polygons), as (lat, lon).
    pub boundary: Vec<Vec<(f64, f64)>>,
    pub marks: Vec<Mark>,
    /// A tile URL template (`…/{z}/{x}/{y}.png`) to draw under the map, if configured.
    pub tiles: Option<String>,
}

/// The distance in metres between two (lat, lon) points.
pub fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// The rings of a boundary geometry, as (lat, lon).
pub fn rings(geometry: &geo::Geometry<f64>) -> Vec<Vec<(f64, f64)>> {
    let ring = |polygon: &geo::Polygon<f64>| -> Vec<(f64, f64)> {
        polygon.exterior().coords().map(|c| (c.y, c.x)).collect()
    };
    match geometry {
        geo::Geometry::Polygon(polygon) => vec![ring(polygon)],
        geo::Geometry::MultiPolygon(many) => many.0.iter().map(ring).collect(),
        _ => Vec::new(),
    }
}

/// A map tile under the drawing: zoom, x, y, and its top-left and
/// bottom-right corners in drawing units.
type Tile = (u32, u32, u32, (f64, f64), (f64, f64));

/// Projects (lat, lon) onto the drawing: equirectangular around the middle
/// latitude (true to scale over a village), north up, fitted with a margin.
struct Frame {
    west: f64,
    north: f64,
    scale: f64,
    shrink: f64,
    offset_x: f64,
    offset_y: f64,
}

impl Frame {
    fn fit(points: &[(f64, f64)]) -> Option<Frame> {
        let first = points.first()?;
        let (mut south, mut north, mut west, mut east) = (first.0, first.0, first.1, first.1);
        for (lat, lon) in points {
            south = south.min(*lat);
            north = north.max(*lat);
            west = west.min(*lon);
            east = east.max(*lon);
        }
        let shrink = ((south + north) / 2.0).to_radians().cos().max(0.01);
        // At least ~100 m across, so that one point or two close ones do not blow up.
        let span_x = ((east - west) * shrink).max(0.001);
        let span_y = (north - south).max(0.001);
        let scale = ((WIDTH - 2.0 * MARGIN) / span_x).min((HEIGHT - 2.0 * MARGIN) / span_y);
        let offset_x = (WIDTH - (east - west) * shrink * scale) / 2.0;
        let offset_y = (HEIGHT - (north - south) * scale) / 2.0;
        Some(Frame {
            west,
            north,
            scale,
            shrink,
            offset_x,
            offset_y,
        })
    }

    fn place(&self, (lat, lon): (f64, f64)) -> (f64, f64) {
        (
            self.offset_x + (lon - self.west) * self.shrink * self.scale,
            self.offset_y + (self.north - lat) * self.scale,
        )
    }

    /// The (lat, lon) at a point of the drawing.
    fn unplace(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.north - (y - self.offset_y) / self.scale,
            self.west + (x - self.offset_x) / (self.shrink * self.scale),
        )
    }

    /// The slippy-map tiles covering the drawing, at the zoom whose tiles are
    /// about 256 units wide here: (z, x, y, top-left, bottom-right).
    fn tiles(&self) -> Vec<Tile> {
        let units_per_degree = self.shrink * self.scale;
        let zoom = (360.0 * units_per_degree / 256.0)
            .log2()
            .round()
            .clamp(0.0, 19.0) as u32;
        let n = f64::from(1u32 << zoom);
        let tile_x = |lon: f64| ((lon + 180.0) / 360.0 * n).floor().clamp(0.0, n - 1.0) as u32;
        let tile_y = |lat: f64| {
            let r = lat.clamp(-85.0, 85.0).to_radians();
            ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
                .floor()
                .clamp(0.0, n - 1.0) as u32
        };
        let lon_of = |x: u32| f64::from(x) / n * 360.0 - 180.0;
        let lat_of = |y: u32| {
            (std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n))
                .sinh()
                .atan()
                .to_degrees()
        };
        let (north, west) = self.unplace((0.0, 0.0));
        let (south, east) = self.unplace((WIDTH, HEIGHT));
        let mut found = Vec::new();
        for y in tile_y(north)..=tile_y(south) {
            for x in tile_x(west)..=tile_x(east) {
                let top_left = self.place((lat_of(y), lon_of(x)));
                let bottom_right = self.place((lat_of(y + 1), lon_of(x + 1)));
                found.push((zoom, x, y, top_left, bottom_right));
                if found.len() >= 64 {
                    return found;
                }
            }
        }
        found
    }
}

fn number(value: f64) -> String {
    format!("{value:.1}")
}

/// The map as inline SVG with a legend; `None` when there is nothing to draw.
pub fn draw(input: &MapInput, lang: Lang) -> Option<Markup> {
    let mut points: Vec<(f64, f64)> = input.boundary.iter().flatten().copied().collect();
    points.extend(input.marks.iter().map(|m| m.at));
    let frame = Frame::fit(&points)?;
    let mut pairs = Vec::new();
    for (i, a) in input.marks.iter().enumerate() {
        for b in &input.marks[i + 1..] {
            pairs.push((a, b, metres(a.at, b.at)));
        }
    }
    let title = lang.pick("Bản đồ vị trí", "Map of the locations");
    Some(html! {
        figure.map {
            svg #map viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg" {
                title #map-title { (title) }
                rect.sea x="0" y="0" width=(WIDTH) height=(HEIGHT) {}
                @if let Some(template) = &input.tiles {
                    @for (z, x, y, (x0, y0), (x1, y1)) in frame.tiles() {
                        image.tile href=(template.replace("{z}", &z.to_string()).replace("{x}", &x.to_string()).replace("{y}", &y.to_string()))
                            x=(number(x0)) y=(number(y0)) width=(number(x1 - x0)) height=(number(y1 - y0)) preserveAspectRatio="none" {}
                    }
                }
                @for ring in &input.boundary {
                    polygon.boundary points=(ring.iter().map(|p| { let (x, y) = frame.place(*p); format!("{},{}", number(x), number(y)) }).collect::<Vec<_>>().join(" ")) {}
                }
                @for (a, b, distance) in &pairs {
                    @let (x1, y1) = frame.place(a.at);
                    @let (x2, y2) = frame.place(b.at);
                    line.link x1=(number(x1)) y1=(number(y1)) x2=(number(x2)) y2=(number(y2)) {}
                    text.distance x=(number((x1 + x2) / 2.0)) y=(number((y1 + y2) / 2.0 - 4.0)) { (lang.distance(*distance)) }
                }
                @for (index, mark) in input.marks.iter().enumerate() {
                    @let (x, y) = frame.place(mark.at);
                    // Marks often sit on one spot: their labels are stacked, not piled.
                    @let label_y = y + 4.0 + 16.0 * index as f64;
                    g class={ "mark " (mark.kind.class()) } {
                        @match mark.kind {
                            MarkKind::Household => rect x=(number(x - 7.0)) y=(number(y - 7.0)) width="14" height="14" {},
                            MarkKind::Geotag => circle cx=(number(x)) cy=(number(y)) r="8" {},
                            MarkKind::Photo => polygon points={ (number(x)) "," (number(y - 9.0)) " " (number(x + 8.0)) "," (number(y + 6.0)) " " (number(x - 8.0)) "," (number(y + 6.0)) } {},
                        }
                        text x=(number(x + 11.0)) y=(number(label_y)) { (mark.label) }
                    }
                }
            }
            figcaption {
                ul.legend {
                    @if !input.boundary.is_empty() {
                        li.boundary { (lang.pick("Ranh giới thôn", "Village boundary")) }
                    }
                    @for mark in &input.marks {
                        li class=(mark.kind.class()) { (mark.label) }
                    }
                }
                @if !pairs.is_empty() {
                    ul.distances {
                        @for (a, b, distance) in &pairs {
                            li { (a.label) " ↔ " (b.label) ": " strong { (lang.distance(*distance)) } }
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MapInput {
        MapInput {
            boundary: vec![vec![
                (19.0, 105.0),
                (19.0, 105.01),
                (19.01, 105.01),
                (19.01, 105.0),
                (19.0, 105.0),
            ]],
            marks: vec![
                Mark {
                    kind: MarkKind::Household,
                    label: "Hộ".into(),
                    at: (19.005, 105.005),
                },
                Mark {
                    kind: MarkKind::Geotag,
                    label: "GPS".into(),
                    at: (19.005, 105.006),
                },
                Mark {
                    kind: MarkKind::Photo,
                    label: "EXIF".into(),
                    at: (19.026, 105.005),
                },
            ],
            tiles: None,
        }
    }

    #[test]
    fn configured_tiles_lie_under_the_drawing_and_cover_it() {
        let mut data = input();
        assert!(!draw(&data, Lang::Vi)
            .expect("drawn")
            .into_string()
            .contains("<image"));
        data.tiles = Some("https://tiles.example.vn/{z}/{x}/{y}.png".into());
        let svg = draw(&data, Lang::Vi).expect("drawn").into_string();
        let count = svg.matches("<image").count();
        assert!((1..=64).contains(&count), "{count} tiles");
        // 3 km across 640 units: zoom 14 or so; 105° E, 19° N is tile x ≈ 12971 there.
        assert!(svg.contains("https://tiles.example.vn/1"), "{svg}");
        assert!(
            svg.find("<image").unwrap_or(usize::MAX) < svg.find("class=\"boundary\"").unwrap_or(0),
            "tiles are drawn first"
        );
        let mut points: Vec<(f64, f64)> = data.boundary[0].clone();
        points.extend(data.marks.iter().map(|m| m.at));
        let frame = Frame::fit(&points).expect("points");
        let tiles = frame.tiles();
        let left = tiles.iter().map(|t| t.3 .0).fold(f64::MAX, f64::min);
        let right = tiles.iter().map(|t| t.4 .0).fold(f64::MIN, f64::max);
        let top = tiles.iter().map(|t| t.3 .1).fold(f64::MAX, f64::min);
        let bottom = tiles.iter().map(|t| t.4 .1).fold(f64::MIN, f64::max);
        assert!(
            left <= 0.0 && right >= WIDTH && top <= 0.0 && bottom >= HEIGHT,
            "{left} {right} {top} {bottom}"
        );
    }

    #[test]
    fn every_point_lands_inside_the_drawing_north_up() {
        let data = input();
        let mut points: Vec<(f64, f64)> = data.boundary[0].clone();
        points.extend(data.marks.iter().map(|m| m.at));
        let frame = Frame::fit(&points).expect("points");
        for p in &points {
            let (x, y) = frame.place(*p);
            assert!(
                (0.0..=WIDTH).contains(&x) && (0.0..=HEIGHT).contains(&y),
                "{p:?} → {x},{y}"
            );
        }
        let (_, y_south) = frame.place((19.0, 105.0));
        let (_, y_north) = frame.place((19.026, 105.0));
        assert!(y_north < y_south, "north is up");
        // One degree of longitude is shorter than one of latitude at 19°N.
        let (x0, _) = frame.place((19.0, 105.0));
        let (x1, _) = frame.place((19.0, 105.01));
        let (_, y1) = frame.place((19.01, 105.0));
        assert!(((x1 - x0) / (y_south - y1) - 19f64.to_radians().cos()).abs() < 0.01);
    }

    #[test]
    fn the_map_names_each_distance_in_the_reader_s_language() {
        let svg = draw(&input(), Lang::Vi).expect("drawn").into_string();
        assert!(svg.contains("<polygon class=\"boundary\""), "{svg}");
        assert!(svg.contains("Hộ ↔ GPS"));
        // 0.021° of latitude is about 2.3 km.
        assert!(svg.contains("2,3 km"), "{svg}");
        assert_eq!(svg.matches("<line").count(), 3);
        let english = draw(&input(), Lang::En).expect("drawn").into_string();
        assert!(english.contains("2.3 km"));
        assert!(draw(&MapInput::default(), Lang::Vi).is_none());
    }

    #[test]
    fn one_point_alone_still_draws() {
        let alone = MapInput {
            boundary: Vec::new(),
            marks: vec![Mark {
                kind: MarkKind::Geotag,
                label: "GPS".into(),
                at: (19.0, 105.0),
            }],
            tiles: None,
        };
        let svg = draw(&alone, Lang::Vi).expect("drawn").into_string();
        assert!(svg.contains("<circle"));
        assert!(!svg.contains("<line"));
    }
}
