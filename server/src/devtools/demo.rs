//! The demo: a province built on first start so that a new user can try
//! camket at once (2 districts, 6 communes, 30 villages with boundaries,
//! 3,000 households with Vietnamese names, and one user per role).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use camket_schema::domain::{AreaLevel, HouseholdCategory, Role};
use camket_schema::{with_conn, Db};
use diesel::prelude::*;

use crate::areas::import::AreaRecord;
use crate::areas::store as area_store;
use crate::auth::password;
use crate::error::ApiError;
use crate::households::import::HouseholdRecord;
use crate::households::store as household_store;
use crate::users;
use camket_schema::domain::SubmissionStatus;

const SURNAMES: &[&str] = &[
    "Lê", "Nguyễn", "Trần", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Lương", "Mai",
    "Hà", "Trịnh", "Lò",
];
const MIDDLE_MALE: &[&str] = &["Văn", "Đình", "Hữu", "Xuân", "Quang", "Minh", "Đức"];
const MIDDLE_FEMALE: &[&str] = &["Thị", "Ngọc", "Thu", "Minh", "Thanh"];
const GIVEN_MALE: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Phúc", "Quân", "Sơn", "Thắng",
    "Tuấn", "Toàn", "Khánh", "Lực",
];
const GIVEN_FEMALE: &[&str] = &[
    "Hà", "Hạnh", "Hương", "Lan", "Mai", "Nga", "Tâm", "Thảo", "Vân", "Yến", "Hoa", "Loan",
];

/// (district code suffix, district name, [(commune suffix, commune name, village word)], centre lat, lon)
type CommuneSpec = (&'static str, &'static str, &'static str);
const DISTRICTS: &[(&str, &str, [CommuneSpec; 3], f64, f64)] = &[
    (
        "HH",
        "Huyện Hoằng Hóa",
        [
            ("HK", "Xã Hoằng Kim", "Thôn"),
            ("HT", "Xã Hoằng Trung", "Thôn"),
            ("HP", "Xã Hoằng Phượng", "Thôn"),
        ],
        19.86,
        105.84,
    ),
    (
        "TP",
        "Thành phố Thanh Hóa",
        [
            ("TT", "Phường Trường Thi", "Tổ dân phố"),
            ("DB", "Phường Điện Biên", "Tổ dân phố"),
            ("DT", "Phường Đông Thọ", "Tổ dân phố"),
        ],
        19.80,
        105.77,
    ),
];

const VILLAGES_PER_COMMUNE: usize = 5;
const HOUSEHOLDS_PER_VILLAGE: usize = 100;
const VILLAGE_SIZE_DEG: f64 = 0.012;

pub fn square(lat: f64, lon: f64, half: f64) -> String {
    serde_json::json!({
        "type": "Polygon",
        "coordinates": [[
            [lon - half, lat - half], [lon + half, lat - half],
            [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]
        ]]
    })
    .to_string()
}

/// The areas of the demo province, parents first.
pub fn demo_areas() -> Vec<AreaRecord> {
    let mut records = vec![AreaRecord {
        line: 1,
        code: "38".into(),
        name: "Tỉnh Thanh Hóa".into(),
        level: AreaLevel::Province,
        parent_code: None,
        boundary: None,
        centroid: Some((19.81, 105.78)),
    }];
    for (district_code, district_name, communes, lat, lon) in DISTRICTS {
        let district = format!("38-{district_code}");
        records.push(AreaRecord {
            line: records.len() as u64 + 1,
            code: district.clone(),
            name: (*district_name).into(),
            level: AreaLevel::District,
            parent_code: Some("38".into()),
            boundary: None,
            centroid: Some((*lat, *lon)),
        });
        for (c, (commune_code, commune_name, village_word)) in communes.iter().enumerate() {
            let commune = format!("{district}-{commune_code}");
            let commune_lat = lat + 0.07 * (c as f64 - 1.0);
            records.push(AreaRecord {
                line: records.len() as u64 + 1,
                code: commune.clone(),
                name: (*commune_name).into(),
                level: AreaLevel::Commune,
                parent_code: Some(district.clone()),
                boundary: Some(square(commune_lat, *lon, 0.035)),
                centroid: Some((commune_lat, *lon)),
            });
            for v in 0..VILLAGES_PER_COMMUNE {
                let village_lat = commune_lat - 0.024 + 0.012 * v as f64;
                let village_lon = lon + if v % 2 == 0 { -0.012 } else { 0.012 };
                records.push(AreaRecord {
                    line: records.len() as u64 + 1,
                    code: format!("{commune}-{:02}", v + 1),
                    name: format!("{village_word} {}", v + 1),
                    level: AreaLevel::Village,
                    parent_code: Some(commune.clone()),
                    boundary: Some(square(village_lat, village_lon, VILLAGE_SIZE_DEG / 2.0)),
                    centroid: Some((village_lat, village_lon)),
                });
            }
        }
    }
    records
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A Vietnamese full name.
pub fn person_name(rng: &mut StdRng) -> String {
    if rng.random_bool(0.7) {
        format!(
            "{} {} {}",
            pick(rng, SURNAMES),
            pick(rng, MIDDLE_MALE),
            pick(rng, GIVEN_MALE)
        )
    } else {
        format!(
            "{} {} {}",
            pick(rng, SURNAMES),
            pick(rng, MIDDLE_FEMALE),
            pick(rng, GIVEN_FEMALE)
        )
    }
}

/// Categories in roughly the proportions of a coastal Thanh Hóa commune: about
/// one household in twelve has a relative abroad, half of them illegally.
pub fn categories(rng: &mut StdRng) -> Vec<HouseholdCategory> {
    let mut found = Vec::new();
    if rng.random_bool(0.08) {
        found.push(HouseholdCategory::RelativeAbroad);
        if rng.random_bool(0.5) {
            found.push(HouseholdCategory::RelativeAbroadIllegal);
        }
    }
    if rng.random_bool(0.01) {
        found.push(HouseholdCategory::RelativeDetained);
    }
    if rng.random_bool(0.02) {
        found.push(HouseholdCategory::Returnee);
    }
    if rng.random_bool(0.03) {
        found.push(match rng.random_range(0..4) {
            0 => HouseholdCategory::BusinessAccommodation,
            1 => HouseholdCategory::BusinessForeignEmployer,
            2 => HouseholdCategory::BusinessLabourExport,
            _ => HouseholdCategory::BusinessTransport,
        });
    }
    found.sort();
    found
}

/// The households of the demo villages.
pub fn demo_households(areas: &[AreaRecord], seed: u64) -> Vec<HouseholdRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut records = Vec::new();
    for village in areas.iter().filter(|a| a.level == AreaLevel::Village) {
        let (lat, lon) = village.centroid.unwrap_or((19.8, 105.8));
        for n in 1..=HOUSEHOLDS_PER_VILLAGE {
            let half = VILLAGE_SIZE_DEG / 2.0 * 0.9;
            records.push(HouseholdRecord {
                line: records.len() as u64 + 2,
                village_code: village.code.clone(),
                code: format!("HGD-{n:04}"),
                head_name: person_name(&mut rng),
                address: format!("Số nhà {}, {}", n, village.name),
                member_count: rng.random_range(1..=7),
                location: Some((
                    lat + rng.random_range(-half..half),
                    lon + rng.random_range(-half..half),
                )),
                categories: categories(&mut rng),
            });
        }
    }
    records
}

/// The demo users: (username, full name, role, area code).
pub const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    ("admin", "Quản trị hệ thống", Role::Admin, "38"),
    (
        "officer",
        "Đại úy Lê Văn Hùng (Công an xã Hoằng Kim)",
        Role::Officer,
        "38-HH-HK",
    ),
    (
        "surveyor",
        "Nguyễn Thị Lan (Tổ công tác Thôn 1)",
        Role::Surveyor,
        "38-HH-HK-01",
    ),
    (
        "viewer",
        "Trịnh Minh Đức (Ban chỉ đạo tỉnh)",
        Role::Viewer,
        "38",
    ),
    (
        "officer-tt",
        "Thượng úy Phạm Quang Sơn (Công an phường Trường Thi)",
        Role::Officer,
        "38-TP-TT",
    ),
    (
        "surveyor2",
        "Hà Văn Nam (Tổ công tác Thôn 2)",
        Role::Surveyor,
        "38-HH-HK-02",
    ),
];

/// Whether the database already holds areas (the demo is built only once).
pub fn is_built(db: &Db) -> Result<bool, ApiError> {
    use camket_schema::tables::areas;
    let count: i64 = with_conn!(db, |conn| areas::table.count().get_result(conn)?);
    Ok(count > 0)
}

/// Gives every demo user a new password (the demo was built with another).
pub fn set_password(db: &Db, demo_password: &str) -> Result<usize, ApiError> {
    let hash = password::hash_password(demo_password).map_err(ApiError::Internal)?;
    let usernames: Vec<&str> = DEMO_USERS.iter().map(|(name, ..)| *name).collect();
    Ok(users::store::set_password_hash(db, &usernames, &hash)?)
}

/// Builds the demo into an empty database.
pub fn build(
    db: &Db,
    demo_password: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), ApiError> {
    let areas = demo_areas();
    progress("areas");
    area_store::import(db, &areas, None, &|_| {})?;
    progress("households");
    let households = demo_households(&areas, 2025);
    household_store::import(db, &households, Vec::new(), None, &|_| {})?;
    progress("forms");
    let shipped = survey_forms::shipped_forms()
        .map_err(|errors| ApiError::Internal(format!("shipped forms are invalid: {errors:?}")))?;
    for form in &shipped {
        crate::forms::store::publish(db, form, None)?;
    }
    progress("users");
    let hash = password::hash_password(demo_password).map_err(ApiError::Internal)?;
    for (username, full_name, role, area_code) in DEMO_USERS {
        let area_ids = users::area_ids_for_codes(db, &[area_code.to_string()])?;
        users::store::create(
            db,
            &users::store::NewAccount {
                username,
                full_name,
                password_hash: &hash,
                role: *role,
                area_ids: &area_ids,
            },
        )?;
    }
    progress("campaigns");
    let offset = chrono::FixedOffset::east_opt(7 * 3600)
        .ok_or_else(|| ApiError::Internal("offset".into()))?;
    for text in DEMO_CAMPAIGNS {
        crate::campaigns::create(db, &crate::campaigns::parse(text)?, offset)?;
    }
    let live = live_campaign(chrono::Utc::now().with_timezone(&offset).date_naive())?;
    crate::campaigns::create(db, &live, offset)?;
    progress("coverage already done");
    seed_coverage(db, &live, offset)?;
    Ok(())
}

/// The campaigns of the seed directives.
pub const DEMO_CAMPAIGNS: &[&str] = &[
    include_str!("../../demo/hoang-kim-2025.yaml"),
    include_str!("../../demo/truong-thi-2023.yaml"),
];

/// A campaign shaped like Hoằng Kim's whose window spans `today`, over the whole
/// demo province, so that a new user can try the whole workflow today.
pub fn live_campaign(today: chrono::NaiveDate) -> Result<crate::campaigns::CampaignSpec, ApiError> {
    let mut spec = crate::campaigns::parse(DEMO_CAMPAIGNS[0])?;
    let start = today - chrono::Duration::days(10);
    let shift = start - spec.starts_on;
    spec.code = "demo-live".into();
    spec.name = format!(
        "Cao điểm phòng, chống xuất nhập cảnh trái phép (thử nghiệm, từ {})",
        start.format("%d/%m/%Y")
    );
    spec.scope = "38".into();
    spec.starts_on = start;
    spec.ends_on += shift;
    for target in &mut spec.targets {
        target.deadline += shift;
    }
    Ok(spec)
}

/// Some coverage already done in the live campaign: approved household pledges
/// for part of Thôn 1 of Hoằng Kim, entered as an officer would have approved them.
fn seed_coverage(
    db: &Db,
    live: &crate::campaigns::CampaignSpec,
    offset: chrono::FixedOffset,
) -> Result<(), ApiError> {
    use camket_schema::tables::{areas, households, users as user_table};
    let (village_id, path): (i64, String) = with_conn!(db, |conn| areas::table
        .filter(areas::code.eq("38-HH-HK-01"))
        .select((areas::id, areas::path))
        .first(conn)?);
    let homes: Vec<(i64, Option<f64>, Option<f64>)> = with_conn!(db, |conn| households::table
        .filter(households::village_id.eq(village_id))
        .order(households::id)
        .limit(40)
        .select((households::id, households::lat, households::lon))
        .load(conn)?);
    let surveyor: i64 = with_conn!(db, |conn| user_table::table
        .filter(user_table::username.eq("surveyor"))
        .select(user_table::id)
        .first(conn)?);
    let officer: i64 = with_conn!(db, |conn| user_table::table
        .filter(user_table::username.eq("officer"))
        .select(user_table::id)
        .first(conn)?);
    let day = crate::coverage_day(live.starts_on, offset);
    for (n, (household, lat, lon)) in homes.into_iter().enumerate() {
        let collected = day + chrono::Duration::minutes(20 * n as i64);
        let id = crate::submissions::store::insert(db, &crate::submissions::store::NewRecord {
            submission: camket_schema::models::NewSubmission {
                instance_id: uuid::Uuid::new_v4().to_string(),
                content_hash: format!("demo-{n}"),
                form_id: "commitment".into(),
                form_version: 1,
                village_id,
                area_path: camket_schema::domain::AreaPath::from_stored(path.clone()),
                household_id: Some(household),
                submitted_by: surveyor,
                device_id: Some("demo-seed".into()),
                collected_at: collected.naive_utc(),
                received_at: collected.naive_utc(),
                geotag_lat: lat,
                geotag_lon: lon,
                geotag_accuracy_m: Some(8.0),
                geotag_altitude_m: None,
                geotag_captured_at: None,
                answers: serde_json::json!({"commitment_kind": "household_reporting", "signer_name": "Chủ hộ", "signer_relation": "head", "signed_paper_photo": []}).to_string(),
                status: SubmissionStatus::Received,
                risk: 0,
                flags: "[]".into(),
                commitment_kind: Some("household_reporting".into()),
                supersedes: None,
                superseded_by: None,
                updated_at: collected.naive_utc(),
                approved_at: None,
                evidence_pending: false,
            },
            photos: Vec::new(),
            attachments: Vec::new(),
            subject: format!("household:{household}"),
            corrects: None,
            flags: Vec::new(),
        })?;
        // Three in four approved; the rest wait in the officer's queue.
        if n % 4 != 3 {
            crate::submissions::store::review(
                db,
                id,
                officer,
                crate::submissions::review::Decision::Approve,
                None,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_the_promised_shape() {
        let areas = demo_areas();
        let count = |level| areas.iter().filter(|a| a.level == level).count();
        assert_eq!(count(AreaLevel::District), 2);
        assert_eq!(count(AreaLevel::Commune), 6);
        assert_eq!(count(AreaLevel::Village), 30);
        assert!(areas
            .iter()
            .filter(|a| a.level == AreaLevel::Village)
            .all(|a| a.boundary.is_some()));
        let households = demo_households(&areas, 1);
        assert_eq!(households.len(), 3000);
        let abroad = households
            .iter()
            .filter(|h| h.categories.contains(&HouseholdCategory::RelativeAbroad))
            .count();
        assert!(
            (150..=350).contains(&abroad),
            "{abroad} households with relatives abroad"
        );
    }

    #[test]
    fn demo_campaigns_parse_and_the_live_one_spans_today() {
        for text in DEMO_CAMPAIGNS {
            assert!(crate::campaigns::parse(text).is_ok());
        }
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        let live = live_campaign(today).expect("live campaign");
        assert!(live.starts_on < today && live.ends_on > today);
        assert_eq!(live.targets.len(), 7);
    }

    #[test]
    fn demo_households_lie_inside_their_village() {
        let areas = demo_areas();
        for household in demo_households(&areas, 7).iter().step_by(37) {
            let village = areas
                .iter()
                .find(|a| a.code == household.village_code)
                .expect("village");
            let (lat, lon) = village.centroid.expect("centroid");
            let (hlat, hlon) = household.location.expect("location");
            assert!(
                (hlat - lat).abs() < VILLAGE_SIZE_DEG / 2.0
                    && (hlon - lon).abs() < VILLAGE_SIZE_DEG / 2.0
            );
        }
    }
}
