//! Reading household rosters (CSV) into checked records. Pure: no database.

use std::collections::HashSet;

use camket_schema::domain::HouseholdCategory;

use crate::error::FieldError;
use crate::imports::CsvFile;

/// One household to create or update, keyed by (village code, household code).
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRecord {
    pub line: u64,
    pub village_code: String,
    pub code: String,
    pub head_name: String,
    pub address: String,
    pub member_count: i32,
    /// `(lat, lon)`.
    pub location: Option<(f64, f64)>,
    pub categories: Vec<HouseholdCategory>,
}

/// Reads a roster CSV with the header
/// `village_code,code,head_name,address,member_count[,lat,lon][,categories]`
/// (`categories` separated by `;`).
pub fn parse_csv(input: &[u8]) -> Result<Vec<HouseholdRecord>, Vec<FieldError>> {
    let (records, errors) = read_csv(input);
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// Reads what it can of a roster CSV: the sound rows, and the problems of the
/// others (so that the places of the sound rows can be checked too, and a clerk
/// hears of every mistake in the file at once).
pub fn read_csv(input: &[u8]) -> (Vec<HouseholdRecord>, Vec<FieldError>) {
    let file = CsvFile::new(input);
    let mut reader = file.reader(false);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return (
                Vec::new(),
                vec![FieldError::at_line(1, "header", e.to_string())],
            )
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let required = [
        "village_code",
        "code",
        "head_name",
        "address",
        "member_count",
    ];
    let missing: Vec<FieldError> = required
        .iter()
        .filter(|name| column(name).is_none())
        .map(|name| FieldError::at_line(1, *name, "required column is missing from the header"))
        .collect();
    if !missing.is_empty() {
        return (Vec::new(), missing);
    }
    let index = |name: &str| column(name).unwrap_or(0);
    let (village_i, code_i, head_i, address_i, members_i) = (
        index("village_code"),
        index("code"),
        index("head_name"),
        index("address"),
        index("member_count"),
    );
    let (lat_i, lon_i, categories_i) = (column("lat"), column("lon"), column("categories"));
    let mut errors = Vec::new();
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
        let before = errors.len();
        let mut require = |field: &str, value: &str, max: usize| {
            if value.is_empty() {
                errors.push(FieldError::at_line(line, field, "is required"));
            } else if value.chars().count() > max {
                errors.push(FieldError::at_line(
                    line,
                    field,
                    format!("is longer than {max} characters"),
                ));
            }
        };
        require("village_code", get(village_i), 64);
        require("code", get(code_i), 64);
        require("head_name", get(head_i), 200);
        require("address", get(address_i), 500);
        let member_count = match get(members_i).parse::<i32>() {
            Ok(n) if (1..=200).contains(&n) => n,
            Ok(_) => {
                errors.push(FieldError::at_line(
                    line,
                    "member_count",
                    "must be between 1 and 200",
                ));
                0
            }
            Err(_) => {
                errors.push(FieldError::at_line(
                    line,
                    "member_count",
                    format!("'{}' is not a whole number", get(members_i)),
                ));
                0
            }
        };
        let number = |field: &str,
                      i: Option<usize>,
                      range: std::ops::RangeInclusive<f64>,
                      errors: &mut Vec<FieldError>| {
            let text = i.map(get).filter(|t| !t.is_empty())?;
            match text.parse::<f64>() {
                Ok(v) if range.contains(&v) => Some(v),
                _ => {
                    errors.push(FieldError::at_line(
                        line,
                        field,
                        format!(
                            "'{text}' is not a number between {} and {}",
                            range.start(),
                            range.end()
                        ),
                    ));
                    None
                }
            }
        };
        let lat = number("lat", lat_i, -90.0..=90.0, &mut errors);
        let lon = number("lon", lon_i, -180.0..=180.0, &mut errors);
        let location = match (lat, lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => {
                if errors.len() == before {
                    errors.push(FieldError::at_line(
                        line,
                        "lat",
                        "give both lat and lon, or neither",
                    ));
                }
                None
            }
        };
        let mut categories = Vec::new();
        for name in categories_i
            .map(get)
            .unwrap_or("")
            .split([';', '|'])
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match name.parse::<HouseholdCategory>() {
                Ok(category) if !categories.contains(&category) => categories.push(category),
                Ok(_) => {}
                Err(e) => errors.push(FieldError::at_line(line, "categories", e.to_string())),
            }
        }
        categories.sort();
        let key = (get(village_i).to_string(), get(code_i).to_string());
        if !key.1.is_empty() && !seen.insert(key.clone()) {
            errors.push(FieldError::at_line(
                line,
                "code",
                format!(
                    "household '{}' of village '{}' appears more than once in this file",
                    key.1, key.0
                ),
            ));
        }
        if errors.len() == before {
            records.push(HouseholdRecord {
                line,
                village_code: key.0,
                code: key.1,
                head_name: get(head_i).to_string(),
                address: get(address_i).to_string(),
                member_count,
                location,
                categories,
            });
        }
    }
    (records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_parse_with_categories() {
        let csv = "village_code,code,head_name,address,member_count,lat,lon,categories\n\
                   V1,H001,Lê Văn An,Số 1 Thôn 1,4,19.8,105.8,returnee;relative_abroad\n\
                   V1,H002,Trần Thị Bình,Số 2 Thôn 1,3,,,\n";
        let records = parse_csv(csv.as_bytes()).expect("valid");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].location, Some((19.8, 105.8)));
        assert_eq!(
            records[0].categories,
            vec![
                HouseholdCategory::RelativeAbroad,
                HouseholdCategory::Returnee
            ]
        );
        assert_eq!(records[1].location, None);
    }

    #[test]
    fn each_bad_field_names_its_line() {
        let csv = "village_code,code,head_name,address,member_count,lat,lon,categories\n\
                   V1,H001,,Số 1,4,,,\n\
                   V1,H002,B,Số 2,many,,,\n\
                   V1,H003,C,Số 3,2,191,105,\n\
                   V1,H004,D,Số 4,2,,,smuggler\n\
                   V1,H004,E,Số 5,2,,,\n";
        let errors = parse_csv(csv.as_bytes()).unwrap_err();
        let found: Vec<(u64, &str)> = errors
            .iter()
            .map(|e| (e.line.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, "head_name"),
                (3, "member_count"),
                (4, "lat"),
                (5, "categories"),
                (6, "code")
            ]
        );
    }
}
