//! Reading area files (CSV or GeoJSON) into checked records. Pure: no database.
//! Every problem is reported with its line (CSV) or feature (GeoJSON), the field
//! and the reason, and any problem rejects the whole file.

use std::collections::HashSet;

use camket_schema::domain::AreaLevel;
use geo::Centroid;

use crate::error::FieldError;
use crate::imports::CsvFile;

/// One area to create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRecord {
    /// Where it came from: the CSV line or the GeoJSON feature index (1-based).
    pub line: u64,
    pub code: String,
    pub name: String,
    pub level: AreaLevel,
    pub parent_code: Option<String>,
    /// GeoJSON geometry (Polygon or MultiPolygon) as text.
    pub boundary: Option<String>,
    /// `(lat, lon)`.
    pub centroid: Option<(f64, f64)>,
}

const MAX_CODE: usize = 64;
const MAX_NAME: usize = 200;

fn check_code(line: u64, field: &str, code: &str, errors: &mut Vec<FieldError>) {
    if code.is_empty() {
        errors.push(FieldError::at_line(line, field, "is required"));
    } else if code.len() > MAX_CODE {
        errors.push(FieldError::at_line(
            line,
            field,
            format!("is longer than {MAX_CODE} characters"),
        ));
    } else if code.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(FieldError::at_line(
            line,
            field,
            "must not contain spaces or control characters",
        ));
    }
}

fn check_common(record: &AreaRecord, seen: &mut HashSet<String>, errors: &mut Vec<FieldError>) {
    let line = record.line;
    check_code(line, "code", &record.code, errors);
    if let Some(parent) = &record.parent_code {
        check_code(line, "parent_code", parent, errors);
        if parent == &record.code {
            errors.push(FieldError::at_line(
                line,
                "parent_code",
                "an area cannot be its own parent",
            ));
        }
    }
    if record.name.trim().is_empty() {
        errors.push(FieldError::at_line(line, "name", "is required"));
    } else if record.name.chars().count() > MAX_NAME {
        errors.push(FieldError::at_line(
            line,
            "name",
            format!("is longer than {MAX_NAME} characters"),
        ));
    }
    if let Some((lat, lon)) = record.centroid {
        if !(-90.0..=90.0).contains(&lat) {
            errors.push(FieldError::at_line(
                line,
                "centroid_lat",
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&lon) {
            errors.push(FieldError::at_line(
                line,
                "centroid_lon",
                "must be between -180 and 180",
            ));
        }
    }
    if !record.code.is_empty() && !seen.insert(record.code.clone()) {
        errors.push(FieldError::at_line(
            line,
            "code",
            format!("'{}' appears more than once in this file", record.code),
        ));
    }
}

fn optional_number(
    line: u64,
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let text = value.map(str::trim).filter(|v| !v.is_empty())?;
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Some(number),
        _ => {
            errors.push(FieldError::at_line(
                line,
                field,
                format!("'{text}' is not a number"),
            ));
            None
        }
    }
}

/// Reads an area CSV with the header
/// `code,name,level,parent_code[,centroid_lat,centroid_lon][,boundary]`
/// (`boundary` a GeoJSON Polygon or MultiPolygon).
pub fn parse_csv(input: &[u8]) -> Result<Vec<AreaRecord>, Vec<FieldError>> {
    let file = CsvFile::new(input);
    let mut reader = file.reader(false);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![FieldError::at_line(1, "header", e.to_string())]),
    };
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut errors = Vec::new();
    let required = ["code", "name", "level", "parent_code"];
    for name in required {
        if column(name).is_none() {
            errors.push(FieldError::at_line(
                1,
                name,
                "required column is missing from the header",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (code_i, name_i, level_i, parent_i) = (
        column("code").unwrap_or(0),
        column("name").unwrap_or(0),
        column("level").unwrap_or(0),
        column("parent_code").unwrap_or(0),
    );
    let (lat_i, lon_i, boundary_i) = (
        column("centroid_lat"),
        column("centroid_lon"),
        column("boundary"),
    );
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                errors.push(file.unreadable(&e));
                continue;
            }
        };
        let line = file.line_of(row.position());
        let get = |i: usize| row.get(i).unwrap_or("").trim();
        let level = match get(level_i).parse::<AreaLevel>() {
            Ok(level) => level,
            Err(e) => {
                errors.push(FieldError::at_line(line, "level", e.to_string()));
                continue;
            }
        };
        let lat = optional_number(line, "centroid_lat", lat_i.map(get), &mut errors);
        let lon = optional_number(line, "centroid_lon", lon_i.map(get), &mut errors);
        let centroid = match (lat, lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => {
                errors.push(FieldError::at_line(
                    line,
                    "centroid_lat",
                    "give both centroid_lat and centroid_lon, or neither",
                ));
                None
            }
        };
        let boundary = match boundary_i.map(get).filter(|b| !b.is_empty()) {
            Some(text) => match parse_boundary(text) {
                Ok(geometry) => Some(geometry),
                Err(message) => {
                    errors.push(FieldError::at_line(line, "boundary", message));
                    None
                }
            },
            None => None,
        };
        let (boundary, centroid) = with_centroid(boundary, centroid);
        let parent = get(parent_i);
        let record = AreaRecord {
            line,
            code: get(code_i).to_string(),
            name: get(name_i).to_string(),
            level,
            parent_code: (!parent.is_empty()).then(|| parent.to_string()),
            boundary,
            centroid,
        };
        check_common(&record, &mut seen, &mut errors);
        records.push(record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// A boundary with its centroid: the given one, or else the polygon's.
fn with_centroid(
    boundary: Option<(String, geo::Geometry)>,
    centroid: Option<(f64, f64)>,
) -> (Option<String>, Option<(f64, f64)>) {
    match boundary {
        Some((text, geometry)) => {
            let computed = geometry.centroid().map(|p| (p.y(), p.x()));
            (Some(text), centroid.or(computed))
        }
        None => (None, centroid),
    }
}

/// Parses a GeoJSON Polygon or MultiPolygon; returns its normalised text and geometry.
pub fn parse_boundary(text: &str) -> Result<(String, geo::Geometry), String> {
    let geometry: geojson::Geometry = text
        .parse::<geojson::Geometry>()
        .map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    boundary_from_geometry(geometry)
}

fn boundary_from_geometry(geometry: geojson::Geometry) -> Result<(String, geo::Geometry), String> {
    let kind = match &geometry.value {
        geojson::GeometryValue::Polygon { .. } => "Polygon",
        geojson::GeometryValue::MultiPolygon { .. } => "MultiPolygon",
        _ => return Err("a boundary must be a Polygon or MultiPolygon".into()),
    };
    // The geojson crate's conversion indexes positions without checking their
    // length (a `[105.0]` position panics there): check them first. Found by fuzzing.
    let rings: Vec<&Vec<geojson::Position>> = match &geometry.value {
        geojson::GeometryValue::Polygon { coordinates } => coordinates.iter().collect(),
        geojson::GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().flatten().collect()
        }
        _ => Vec::new(),
    };
    if rings
        .iter()
        .flat_map(|ring| ring.iter())
        .any(|p| p.len() < 2)
    {
        return Err(format!(
            "invalid {kind}: every position needs a longitude and a latitude"
        ));
    }
    let converted: geo::Geometry =
        geo::Geometry::try_from(geometry.clone()).map_err(|e| format!("invalid {kind}: {e}"))?;
    let out_of_range = geo::CoordsIter::coords_iter(&converted)
        .any(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y));
    if out_of_range {
        return Err("coordinates must be [longitude, latitude] in degrees".into());
    }
    Ok((geometry.to_string(), converted))
}

/// Reads a GeoJSON FeatureCollection whose features carry the properties
/// `code`, `name`, `level` and `parent_code` (optional) and a Polygon or
/// MultiPolygon boundary (optional).
pub fn parse_geojson(input: &[u8]) -> Result<Vec<AreaRecord>, Vec<FieldError>> {
    let text = std::str::from_utf8(input).map_err(|_| {
        vec![FieldError::new(
            "body",
            "the GeoJSON file is not UTF-8 text",
        )]
    })?;
    let collection: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .map_err(|e| vec![FieldError::new("body", format!("not valid GeoJSON: {e}"))])
        .and_then(|g| {
            geojson::FeatureCollection::try_from(g)
                .map_err(|_| vec![FieldError::new("body", "expected a FeatureCollection")])
        })?;
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    for (index, feature) in collection.features.into_iter().enumerate() {
        let number = index as u64 + 1;
        let prop = |name: &str| -> String {
            feature
                .property(name)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.trim().to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        let field = |name: &str| format!("features[{index}].properties.{name}");
        let level = match prop("level").parse::<AreaLevel>() {
            Ok(level) => level,
            Err(e) => {
                errors.push(FieldError::at_line(number, field("level"), e.to_string()));
                continue;
            }
        };
        let boundary = match feature.geometry.clone() {
            Some(geometry) => match boundary_from_geometry(geometry) {
                Ok(b) => Some(b),
                Err(message) => {
                    errors.push(FieldError::at_line(
                        number,
                        format!("features[{index}].geometry"),
                        message,
                    ));
                    None
                }
            },
            None => None,
        };
        let (boundary, centroid) = with_centroid(boundary, None);
        let parent = prop("parent_code");
        let record = AreaRecord {
            line: number,
            code: prop("code"),
            name: prop("name"),
            level,
            parent_code: (!parent.is_empty()).then_some(parent),
            boundary,
            centroid,
        };
        let before = errors.len();
        check_common(&record, &mut seen, &mut errors);
        for error in &mut errors[before..] {
            error.field = field(&error.field);
        }
        records.push(record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_read_with_their_lines() {
        let csv = "code,name,level,parent_code,centroid_lat,centroid_lon\n\
                   38,Thanh Hóa,province,,,\n\
                   38-HH,Hoằng Hóa,district,38,19.85,105.85\n";
        let records = parse_csv(csv.as_bytes()).expect("valid");
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].line, 3);
        assert_eq!(records[1].parent_code.as_deref(), Some("38"));
        assert_eq!(records[1].centroid, Some((19.85, 105.85)));
    }

    #[test]
    fn every_bad_row_is_reported() {
        let csv = "code,name,level,parent_code,centroid_lat,centroid_lon\n\
                   A,,province,,,\n\
                   B,Bee,hamlet,A,,\n\
                   C,Cee,village,A,95,10\n\
                   A,Again,village,A,,\n";
        let errors = parse_csv(csv.as_bytes()).unwrap_err();
        let found: Vec<(u64, &str)> = errors
            .iter()
            .map(|e| (e.line.unwrap_or(0), e.field.as_str()))
            .collect();
        assert!(found.contains(&(2, "name")), "{found:?}");
        assert!(found.contains(&(3, "level")), "{found:?}");
        assert!(found.contains(&(4, "centroid_lat")), "{found:?}");
        assert!(found.contains(&(5, "code")), "{found:?}");
    }

    #[test]
    fn missing_columns_are_named() {
        let errors = parse_csv(b"code,name\nA,B\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "level");
    }

    #[test]
    fn geojson_polygons_get_a_centroid() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"code":"V1","name":"Thôn 1","level":"village","parent_code":"C1"},
           "geometry":{"type":"Polygon","coordinates":[[[105.0,19.0],[105.02,19.0],[105.02,19.02],[105.0,19.02],[105.0,19.0]]]}}]}"#;
        let records = parse_geojson(text.as_bytes()).expect("valid");
        let (lat, lon) = records[0].centroid.expect("centroid");
        assert!((lat - 19.01).abs() < 1e-9 && (lon - 105.01).abs() < 1e-9);
        assert!(records[0]
            .boundary
            .as_deref()
            .unwrap_or("")
            .contains("Polygon"));
    }

    #[test]
    fn geojson_point_boundary_is_refused() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"code":"V1","name":"Thôn 1","level":"village"},
           "geometry":{"type":"Point","coordinates":[105.0,19.0]}}]}"#;
        let errors = parse_geojson(text.as_bytes()).unwrap_err();
        assert_eq!(errors[0].field, "features[0].geometry");
    }
}
