//! `camket gen-province`: a synthetic province for benchmarks — an area tree
//! with village polygons, households in realistic categories, officers and
//! surveyors, the live campaign, and submissions with real JPEG photos (a few
//! hundred distinct ones, reused), approved, rejected and waiting in realistic
//! proportions. Rows are written in large batches; coverage is computed once
//! at the end.

use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use camket_schema::domain::{AreaLevel, AreaPath, HouseholdCategory, Role, SubmissionStatus};

use crate::users::store::{create as create_user, NewAccount};
use camket_schema::models::{NewSubmission, PhotoRow};
use camket_schema::tables::{
    areas, households, submission_photos, submissions, users as user_table,
};
use camket_schema::{with_conn, write_tx, Db};

use crate::areas::import::AreaRecord;
use crate::devtools::synthetic::{self, ExifSpec, PaperPhoto, Scene};
use crate::error::ApiError;
use crate::evidence::photo;
use crate::households::import::HouseholdRecord;
use crate::photo_store::{PhotoStore, Variant};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct ProvinceSpec {
    pub households: usize,
    pub villages: usize,
    pub seed: u64,
    /// Distinct photos, reused across submissions.
    pub photos: usize,
}

/// What was generated, with the time of each phase.
#[derive(Debug, Default, serde::Serialize)]
pub struct ProvinceSummary {
    pub areas: usize,
    pub households: usize,
    pub users: usize,
    pub photos: usize,
    pub submissions: usize,
    pub seconds_areas: f64,
    pub seconds_households: f64,
    pub seconds_users: f64,
    pub seconds_photos: f64,
    pub seconds_submissions: f64,
    pub seconds_coverage: f64,
}

/// A household as the generator needs it: id, village, categories (JSON), lat, lon.
type HouseholdSeed = (i64, i64, String, Option<f64>, Option<f64>);

/// The password of every generated user.
pub const PASSWORD: &str = "province-bench-1";

fn areas_for(spec: &ProvinceSpec) -> Vec<AreaRecord> {
    let villages_per_commune = 10;
    let communes = spec.villages.div_ceil(villages_per_commune).max(1);
    let districts = communes.div_ceil(20).max(1);
    let mut records = vec![AreaRecord {
        line: 1,
        code: "P".into(),
        name: "Tỉnh Tổng hợp".into(),
        level: AreaLevel::Province,
        parent_code: None,
        boundary: None,
        centroid: Some((19.8, 105.5)),
    }];
    let side = (spec.villages as f64).sqrt().ceil() as usize;
    let mut village = 0;
    for d in 0..districts {
        let district = format!("P-D{d:02}");
        records.push(AreaRecord {
            line: 0,
            code: district.clone(),
            name: format!("Huyện {}", d + 1),
            level: AreaLevel::District,
            parent_code: Some("P".into()),
            boundary: None,
            centroid: None,
        });
        for c in 0..20 {
            let commune_index = d * 20 + c;
            if commune_index >= communes {
                break;
            }
            let commune = format!("{district}-C{c:02}");
            records.push(AreaRecord {
                line: 0,
                code: commune.clone(),
                name: format!("Xã {}", commune_index + 1),
                level: AreaLevel::Commune,
                parent_code: Some(district.clone()),
                boundary: None,
                centroid: None,
            });
            for v in 0..villages_per_commune {
                if village >= spec.villages {
                    break;
                }
                let (row, col) = (village / side, village % side);
                let (lat, lon) = (19.0 + row as f64 * 0.012, 105.0 + col as f64 * 0.012);
                records.push(AreaRecord {
                    line: 0,
                    code: format!("{commune}-V{v:02}"),
                    name: format!("Thôn {}", v + 1),
                    level: AreaLevel::Village,
                    parent_code: Some(commune.clone()),
                    boundary: Some(crate::devtools::demo::square(lat, lon, 0.006)),
                    centroid: Some((lat, lon)),
                });
                village += 1;
            }
        }
    }
    records
}

/// Generates the province into an empty database.
pub fn generate(
    db: &Db,
    store: &PhotoStore,
    spec: ProvinceSpec,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ProvinceSummary, ApiError> {
    let mut summary = ProvinceSummary::default();
    let mut rng = StdRng::seed_from_u64(spec.seed);

    progress("areas");
    let started = Instant::now();
    let area_records = areas_for(&spec);
    summary.areas = crate::areas::store::import(db, &area_records, None, &|_| {})?.created;
    summary.seconds_areas = started.elapsed().as_secs_f64();

    progress("households");
    let started = Instant::now();
    let villages: Vec<&AreaRecord> = area_records
        .iter()
        .filter(|a| a.level == AreaLevel::Village)
        .collect();
    let mut household_records = Vec::with_capacity(spec.households);
    for n in 0..spec.households {
        // Contiguous blocks, so that each import chunk touches few villages.
        let village = villages[n * villages.len() / spec.households.max(1)];
        let (lat, lon) = village.centroid.unwrap_or((19.0, 105.0));
        household_records.push(HouseholdRecord {
            line: n as u64 + 2,
            village_code: village.code.clone(),
            code: format!("H{:07}", n),
            head_name: crate::devtools::demo::person_name(&mut rng),
            address: format!("Số nhà {}, {}", n / villages.len() + 1, village.name),
            member_count: rng.random_range(1..=7),
            location: Some((
                lat + rng.random_range(-0.005..0.005),
                lon + rng.random_range(-0.005..0.005),
            )),
            categories: crate::devtools::demo::categories(&mut rng),
        });
    }
    for chunk in household_records.chunks(100_000) {
        summary.households +=
            crate::households::store::import(db, chunk, Vec::new(), None, &|_| {})?.created;
    }
    drop(household_records);
    summary.seconds_households = started.elapsed().as_secs_f64();

    progress("users");
    let started = Instant::now();
    let hash = crate::auth::password::hash_password(PASSWORD).map_err(ApiError::Internal)?;
    let area_rows: Vec<(i64, String, AreaLevel)> = with_conn!(db, |conn| areas::table
        .select((areas::id, areas::code, areas::level))
        .load(conn)?);
    let province_id = area_rows
        .iter()
        .find(|a| a.1 == "P")
        .map(|a| a.0)
        .unwrap_or_default();
    create_user(
        db,
        &NewAccount {
            username: "admin",
            full_name: "Quản trị",
            password_hash: &hash,
            role: Role::Admin,
            area_ids: &[province_id],
        },
    )?;
    summary.users += 1;
    for (id, code, level) in &area_rows {
        let (role, name) = match level {
            AreaLevel::Commune => (Role::Officer, format!("officer-{}", code.to_lowercase())),
            AreaLevel::Village => (Role::Surveyor, format!("surveyor-{}", code.to_lowercase())),
            _ => continue,
        };
        create_user(
            db,
            &NewAccount {
                username: &name,
                full_name: &name,
                password_hash: &hash,
                role,
                area_ids: &[*id],
            },
        )?;
        summary.users += 1;
    }
    summary.seconds_users = started.elapsed().as_secs_f64();

    for form in survey_forms::shipped_forms().map_err(|e| ApiError::Internal(format!("{e:?}")))? {
        crate::forms::store::publish(db, &form, None)?;
    }
    let offset = chrono::FixedOffset::east_opt(7 * 3600)
        .ok_or_else(|| ApiError::Internal("offset".into()))?;
    let mut campaign =
        crate::devtools::demo::live_campaign(Utc::now().with_timezone(&offset).date_naive())?;
    campaign.scope = "P".into();

    progress("photos");
    let started = Instant::now();
    let window_start = crate::coverage_day(campaign.starts_on, offset);
    let mut photo_shas = Vec::new();
    let limits = photo::PhotoLimits::default();
    let common = crate::submissions::store::CommonKeys::default();
    for n in 0..spec.photos.max(1) {
        let image = PaperPhoto::new(
            Scene {
                seed: n as u64 % 7,
                paper_shift: (0, 0),
            },
            n as u64,
        )
        .render();
        let taken = (window_start + Duration::hours(n as i64 % 200))
            .with_timezone(&offset)
            .naive_local();
        let bytes = synthetic::jpeg_with_exif(
            &image.resize(800, 600, image::imageops::FilterType::Triangle),
            85,
            &ExifSpec {
                taken_local: Some(taken),
                offset: None,
                gps: None,
            },
        );
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let (staged, mut file) = store
            .temp_file()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        std::io::Write::write_all(&mut file, &bytes)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        drop(file);
        let inspected = photo::inspect(&staged, limits, offset)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let io = |e: std::io::Error| ApiError::Internal(e.to_string());
        store
            .put(&sha, Variant::Thumbnail, &inspected.thumbnail)
            .map_err(io)?;
        store
            .put(&sha, Variant::Signature, &inspected.fingerprint.to_bytes())
            .map_err(io)?;
        store.adopt(&staged, &sha).map_err(io)?;
        let row = PhotoRow {
            sha256: sha.clone(),
            format: camket_schema::domain::PhotoFormat::Jpeg,
            size_bytes: bytes.len() as i64,
            width: inspected.width as i32,
            height: inspected.height as i32,
            exif_time: inspected.exif.taken_at.map(|t| t.naive_utc()),
            exif_lat: None,
            exif_lon: None,
            created_at: Utc::now().naive_utc(),
            verified_at: None,
            verify_error: None,
            exif_camera: inspected.exif.camera.clone(),
            exif_error: None,
        };
        crate::submissions::store::record_photo(db, &row)?;
        crate::submissions::store::mark_verified(
            db,
            &sha,
            &Ok(crate::submissions::store::Decoded {
                width: inspected.width,
                height: inspected.height,
            }),
        )?;
        // Each of these photos is sent from many villages: from none.
        crate::submissions::store::index_photo_keys(
            db,
            &common,
            &sha,
            &inspected.fingerprint.keypoints.placed_keys(),
            None,
        )?;
        photo_shas.push(sha);
    }
    summary.photos = photo_shas.len();
    summary.seconds_photos = started.elapsed().as_secs_f64();

    progress("submissions");
    let started = Instant::now();
    let surveyors: std::collections::HashMap<i64, i64> = with_conn!(db, |conn| {
        let rows: Vec<(i64, i64)> = camket_schema::tables::user_areas::table
            .inner_join(user_table::table)
            .filter(user_table::role.eq(Role::Surveyor))
            .select((camket_schema::tables::user_areas::area_id, user_table::id))
            .load(conn)?;
        rows.into_iter().collect()
    });
    let officer_id: i64 = with_conn!(db, |conn| user_table::table
        .filter(user_table::role.eq(Role::Officer))
        .select(user_table::id)
        .first(conn)?);
    let village_paths: std::collections::HashMap<i64, AreaPath> = with_conn!(db, |conn| {
        let rows: Vec<(i64, AreaPath)> = areas::table
            .filter(areas::level.eq(AreaLevel::Village))
            .select((areas::id, areas::path))
            .load(conn)?;
        rows.into_iter().collect()
    });
    let mut last_id = 0i64;
    loop {
        let batch: Vec<HouseholdSeed> = with_conn!(db, |conn| households::table
            .filter(households::id.gt(last_id))
            .order(households::id)
            .limit(2000)
            .select((
                households::id,
                households::village_id,
                households::categories,
                households::lat,
                households::lon
            ))
            .load(conn)?);
        let Some(last) = batch.last() else { break };
        last_id = last.0;
        let mut rows: Vec<(NewSubmission, Option<String>)> = Vec::new();
        for (household, village, categories, lat, lon) in &batch {
            let categories: Vec<String> = serde_json::from_str(categories).unwrap_or_default();
            let mut kinds = vec!["household_reporting"];
            if categories
                .iter()
                .any(|c| c == HouseholdCategory::RelativeAbroadIllegal.as_str())
            {
                kinds.push("relative_abroad");
            }
            if categories
                .iter()
                .any(|c| c == HouseholdCategory::Returnee.as_str())
            {
                kinds.push("returnee_no_reoffend");
            }
            if categories.iter().any(|c| c.starts_with("business_")) {
                kinds.push("business_compliance");
            }
            let surveyor = surveyors.get(village).copied().unwrap_or(officer_id);
            let Some(path) = village_paths.get(village).cloned() else {
                continue;
            };
            let mut push = |form: &str,
                            kind: Option<&str>,
                            status: SubmissionStatus,
                            rng: &mut StdRng| {
                let collected = window_start + Duration::minutes(rng.random_range(0..60 * 24 * 9));
                let photo = kind.map(|_| photo_shas[rng.random_range(0..photo_shas.len())].clone());
                let answers = match kind {
                    Some(k) => {
                        serde_json::json!({"commitment_kind": k, "signer_name": "Chủ hộ", "signer_relation": "head", "signed_paper_photo": ["paper.jpg"]})
                    }
                    None => {
                        serde_json::json!({"member_count": 4, "has_relative_abroad": false, "has_relative_detained": false, "has_returnee": false, "broker_signs": false})
                    }
                };
                let approved = status == SubmissionStatus::Approved;
                rows.push((
                    NewSubmission {
                        instance_id: uuid::Uuid::new_v4().to_string(),
                        content_hash: String::new(),
                        form_id: form.into(),
                        form_version: 1,
                        village_id: *village,
                        area_path: path.clone(),
                        household_id: Some(*household),
                        submitted_by: surveyor,
                        device_id: Some("gen-province".into()),
                        collected_at: collected.naive_utc(),
                        received_at: collected.naive_utc(),
                        geotag_lat: *lat,
                        geotag_lon: *lon,
                        geotag_accuracy_m: Some(rng.random_range(3.0..30.0)),
                        geotag_altitude_m: None,
                        geotag_captured_at: None,
                        answers: answers.to_string(),
                        status,
                        risk: if rng.random_bool(0.1) { 30 } else { 0 },
                        flags: "[]".into(),
                        commitment_kind: kind.map(str::to_string),
                        supersedes: None,
                        superseded_by: None,
                        updated_at: collected.naive_utc(),
                        approved_at: approved.then(|| (collected + Duration::hours(3)).naive_utc()),
                        evidence_pending: false,
                    },
                    photo,
                ));
            };
            push(
                "household-survey",
                None,
                SubmissionStatus::Approved,
                &mut rng,
            );
            // Most households are surveyed again in the closing review of the campaign.
            if rng.random_bool(0.8) {
                push(
                    "household-survey",
                    None,
                    SubmissionStatus::Approved,
                    &mut rng,
                );
            }
            for kind in kinds {
                let status = match rng.random_range(0..10) {
                    0..=6 => SubmissionStatus::Approved,
                    7 => SubmissionStatus::Rejected,
                    _ => SubmissionStatus::Received,
                };
                push("commitment", Some(kind), status, &mut rng);
                if status == SubmissionStatus::Rejected {
                    push(
                        "commitment",
                        Some(kind),
                        SubmissionStatus::Received,
                        &mut rng,
                    );
                }
            }
        }
        summary.submissions += rows.len();
        write_tx!(db, |conn| {
            for chunk in rows.chunks(1000) {
                let values: Vec<&NewSubmission> = chunk.iter().map(|(s, _)| s).collect();
                let ids: Vec<i64> = diesel::insert_into(submissions::table)
                    .values(values)
                    .returning(submissions::id)
                    .get_results(conn)?;
                let links: Vec<_> = chunk
                    .iter()
                    .zip(&ids)
                    .filter_map(|((s, photo), id)| {
                        photo.as_ref().map(|sha| {
                            (
                                submission_photos::submission_id.eq(*id),
                                submission_photos::field_path.eq("signed_paper_photo"),
                                submission_photos::part_name.eq("paper.jpg"),
                                submission_photos::sha256.eq(sha.clone()),
                                submission_photos::subject.eq(format!(
                                    "household:{}",
                                    s.household_id.unwrap_or_default()
                                )),
                            )
                        })
                    })
                    .collect();
                for links in links.chunks(1000) {
                    diesel::insert_into(submission_photos::table)
                        .values(links)
                        .execute(conn)?;
                }
            }
            Ok::<_, ApiError>(())
        })?;
        progress(&format!("submissions: {}", summary.submissions));
    }
    summary.seconds_submissions = started.elapsed().as_secs_f64();

    progress("campaign and coverage");
    let started = Instant::now();
    crate::campaigns::create(
        db,
        &crate::campaigns::parse(
            &serde_json::to_string(&campaign).map_err(|e| ApiError::Internal(e.to_string()))?,
        )?,
        offset,
    )?;
    summary.seconds_coverage = started.elapsed().as_secs_f64();
    Ok(summary)
}
