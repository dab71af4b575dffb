//! Which earlier photos a new photo is compared with.
//!
//! The keypoint index says which earlier photos share keys with the new one
//! (its postings). Those photos are ranked as a search engine ranks pages:
//! a shared key weighs the less the more photos hold it, so that one paper's
//! handwriting outweighs the printed template's marks that are not common yet.
//! Among a province's tens of thousands of papers of one template, though,
//! the few keys a new photo of a paper keeps of its handwriting are outweighed
//! by keys shared by chance (BENCHMARKS §7). A paper reused for another
//! household is nearly always reused in the village where its surveyor
//! works, and among that village's few hundred papers it stands out again:
//! so the photos are ranked twice, in the whole index and in the village the
//! new photo was sent from, and the candidates are taken from both in turn.
//!
//! A posting also keeps where its keypoint lies. Two photos of one paper
//! share keys whose keypoints lie a like distance apart (the paper moved as a
//! whole); keys shared by chance lie anywhere. A sharer's *votes* count its
//! keys that agree so. The search's looks at a photo drawn larger or
//! smaller rank by them: there the few handwriting keys a new photo of a
//! paper keeps are outweighed by chance sharers, and agree where those do
//! not (BENCHMARKS §7).
//! Its look with all the photo's keys compares a few of the likeliest by
//! votes after those by weight ([`Sharers::candidates_then_voted`]).

use std::collections::HashSet;

/// Where a keypoint lies in its photo's work image, in whole pixels.
pub type Place = (i16, i16);

/// One posting of the index that shares a key with the photo searched for.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    /// The shared key.
    pub key: i64,
    /// The photo holding it.
    pub sha: String,
    /// The village that photo was first sent from.
    pub village: Option<i64>,
    /// Where that photo's keypoint of the key lies (none for a posting
    /// written before places were kept: it adds no vote).
    pub place: Option<Place>,
}

/// How far apart (in work pixels, across and down) two shared keys' offsets
/// may be and still agree: a copy turned 3° moves its corners up to 12
/// pixels against its neighbours', and a drawing 1.05 times the size up to
/// 12 more.
pub const VOTE_REACH: i32 = 16;

/// A photo in the keypoint index that shares keys with the one searched for.
#[derive(Debug, Clone, PartialEq)]
pub struct Sharer {
    /// Its sha-256.
    pub sha: String,
    /// Keys it shares with the photo searched for.
    pub shared: usize,
    /// Of those, the keys no other photo of the ranking holds (as a rule its
    /// handwriting's: the template's marks are in many photos).
    pub held_by_it_alone: usize,
    /// The shared keys, each weighed by how few photos of the ranking hold
    /// it: the rank.
    pub weight: f64,
    /// Each shared key's offset: where its keypoint lies in the photo
    /// searched for, minus where it lies in this one (keys whose posting
    /// keeps no place have none). See [`Sharer::votes`].
    pub offsets: Vec<(i32, i32)>,
}

impl Sharer {
    /// The most shared keys whose keypoints lie a like distance apart in the
    /// two photos (see [`votes`]). Counted when asked: a copy shares
    /// thousands of keys, and only the looks after the first need them.
    pub fn votes(&self) -> usize {
        votes(&self.offsets)
    }
}

/// How an order of candidates is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By weight, the likeliest first.
    ByWeight,
    /// By votes, then by weight.
    ByVotes,
}

/// The most of `offsets` (each a shared key's keypoint here minus there)
/// that lie within [`VOTE_REACH`] of one of them, across and down: the keys
/// that agree on where the paper moved. One key alone agrees with nothing
/// and counts none, so that a photo sharing one placed key does not
/// outrank one whose postings keep no place (written before places were
/// kept), which then both go by weight.
///
/// Counted in a window that slides across, with the window's offsets
/// counted by their place down in a Fenwick tree: ranking by votes counts
/// them for every sharer of a look, and a copy shares thousands of keys,
/// whose pairs cost a twelfth of a new paper's check when counted one by one.
pub fn votes(offsets: &[(i32, i32)]) -> usize {
    let mut across = offsets.to_vec();
    across.sort_unstable();
    let mut downs: Vec<i32> = offsets.iter().map(|(_, y)| *y).collect();
    downs.sort_unstable();
    downs.dedup();
    // How many distinct downs lie below `y`; the tree counts the window's
    // offsets by that rank (1-based inside the tree).
    let below = |y: i32| downs.partition_point(|down| *down < y);
    let mut tree = vec![0isize; downs.len() + 1];
    fn add(tree: &mut [isize], rank: usize, count: isize) {
        let mut at = rank + 1;
        while at < tree.len() {
            tree[at] += count;
            at += at & at.wrapping_neg();
        }
    }
    fn counted_below(tree: &[isize], rank: usize) -> isize {
        let (mut at, mut sum) = (rank, 0);
        while at > 0 {
            sum += tree[at];
            at -= at & at.wrapping_neg();
        }
        sum
    }
    let (mut first, mut past) = (0, 0);
    let mut most = 0;
    for &(x, y) in &across {
        while past < across.len() && across[past].0 <= x + VOTE_REACH {
            add(&mut tree, below(across[past].1), 1);
            past += 1;
        }
        while across[first].0 < x - VOTE_REACH {
            add(&mut tree, below(across[first].1), -1);
            first += 1;
        }
        let near = counted_below(&tree, below(y + VOTE_REACH + 1))
            - counted_below(&tree, below(y - VOTE_REACH));
        most = most.max(near);
    }
    // Never negative: only offsets added are taken away.
    let most = usize::try_from(most).unwrap_or(0);
    if most < 2 {
        0
    } else {
        most
    }
}

/// The most photos holding a key for which its weight is exact. A key turns
/// common, and leaves the index, at `store::COMMON_KEY_PHOTOS` photos, which
/// the store asserts is no more than this.
pub const EXACT_HOLDERS: u64 = 32;

/// One key's weight when a single photo holds it, in the fixed point the
/// weights add up in: the least common multiple of 1 to [`EXACT_HOLDERS`]
/// (about 1.4 × 10¹⁴), so that a key held by up to that many photos weighs
/// exactly one over their number, and equal sums are equal. A photo shares
/// at most a few thousand keys, far below the 127,744 that would overflow.
const WHOLE_KEY: u64 = least_common_multiple_up_to(EXACT_HOLDERS);

const fn least_common_multiple_up_to(n: u64) -> u64 {
    const fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let (mut multiple, mut k) = (1, 2);
    while k <= n {
        multiple = multiple / gcd(multiple, k) * k;
        k += 1;
    }
    multiple
}

/// Every photo of `postings` (a shared key, the photo holding it, and where
/// its keypoint lies there), the likeliest first: each key weighs one over
/// the number of photos holding it. Equal weights go by sha-256, so that the
/// order does not depend on the maps. The weights add up in fixed point
/// ([`WHOLE_KEY`]), not in floating point, whose sums depend on the order of
/// their terms: the two backends read the postings in different orders, and
/// must rank alike. A search reads thousands of postings: the maps hash with
/// foldhash, and a photo's sha-256 is copied once, not once a posting.
/// `searched` says where the searched photo's keypoint of each key lies, for
/// the votes.
pub fn rank<'a>(
    postings: impl IntoIterator<Item = (i64, &'a str, Option<Place>)>,
    searched: &foldhash::HashMap<i64, Place>,
) -> Vec<Sharer> {
    let postings: Vec<(i64, &str, Option<Place>)> = postings.into_iter().collect();
    let mut photos_per_key: foldhash::HashMap<i64, usize> = Default::default();
    for (key, _, _) in &postings {
        *photos_per_key.entry(*key).or_default() += 1;
    }
    // Shared keys, those held by this photo alone, weight, and offsets.
    type Tally = (usize, usize, u64, Vec<(i32, i32)>);
    let mut sharers: foldhash::HashMap<&str, Tally> = Default::default();
    for (key, other, place) in postings {
        let holders = photos_per_key.get(&key).copied().unwrap_or(1);
        let sharer = sharers.entry(other).or_default();
        sharer.0 += 1;
        sharer.1 += usize::from(holders == 1);
        sharer.2 = sharer.2.saturating_add(WHOLE_KEY / holders as u64);
        if let (Some((x, y)), Some((here_x, here_y))) = (place, searched.get(&key)) {
            sharer.3.push((
                i32::from(*here_x) - i32::from(x),
                i32::from(*here_y) - i32::from(y),
            ));
        }
    }
    let mut ranked: Vec<(&str, Tally)> = sharers.into_iter().collect();
    ranked.sort_by(|(a_sha, a), (b_sha, b)| b.2.cmp(&a.2).then_with(|| a_sha.cmp(b_sha)));
    ranked
        .into_iter()
        .map(
            |(sha, (shared, held_by_it_alone, weight, offsets))| Sharer {
                sha: sha.to_string(),
                shared,
                held_by_it_alone,
                weight: weight as f64 / WHOLE_KEY as f64,
                offsets,
            },
        )
        .collect()
}

/// The photos sharing keys with the one searched for, ranked twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sharers {
    /// Ranked in the whole index.
    pub everywhere: Vec<Sharer>,
    /// Those first sent from the village the photo searched for was sent
    /// from, ranked among themselves (a key's holders counted in the
    /// village): empty when it was sent from none.
    pub in_the_village: Vec<Sharer>,
}

impl Sharers {
    /// Ranks `postings` in the whole index and in `village`; `searched`
    /// says where the searched photo's keypoint of each key lies.
    pub fn rank(
        postings: Vec<Posting>,
        village: Option<i64>,
        searched: &foldhash::HashMap<i64, Place>,
    ) -> Sharers {
        let in_the_village = match village {
            Some(village) => rank(
                postings
                    .iter()
                    .filter(|posting| posting.village == Some(village))
                    .map(|posting| (posting.key, posting.sha.as_str(), posting.place)),
                searched,
            ),
            None => Vec::new(),
        };
        Sharers {
            everywhere: rank(
                postings
                    .iter()
                    .map(|posting| (posting.key, posting.sha.as_str(), posting.place)),
                searched,
            ),
            in_the_village,
        }
    }

    /// The same sharers in `order`: by votes, those with equal votes stay
    /// in the order of their weights.
    pub fn ordered(mut self, order: Order) -> Sharers {
        if order == Order::ByVotes {
            for ranking in [&mut self.everywhere, &mut self.in_the_village] {
                ranking.sort_by_cached_key(|sharer| std::cmp::Reverse(sharer.votes()));
            }
        }
        self
    }

    /// At most `limit` candidates, taken in turn from the whole index's
    /// ranking (those sharing at least `min_shared` keys) and the village's
    /// (each once, the whole index's likeliest first); when one ranking runs
    /// out, the other fills the rest. With the keys each shares.
    ///
    /// In the village one shared key is enough: the new photo of a paper,
    /// or its turned or cropped copy, often keeps only one or two of its
    /// keys whole, and there a key that the original alone holds ranks it
    /// among the first few, where in the whole index those keys are held by
    /// others too (BENCHMARKS §7). So where the village's ranking holds the
    /// same photos as the whole index's (a single village), it adds those
    /// sharing fewer than `min_shared` keys.
    pub fn candidates(&self, min_shared: usize, limit: usize) -> Vec<(String, usize)> {
        self.taken(min_shared, limit)
            .into_iter()
            .map(|(sharer, _)| (sharer.sha.clone(), sharer.shared))
            .collect()
    }

    /// The `limit` [`Sharers::candidates`] by weight, then the likeliest by
    /// votes of those not taken yet (at most `limit + voted`): the search
    /// compares `voted` more than `limit`, so those by votes fill in for
    /// any it passes over (compared already, or not counting). A copy turned 3°
    /// whose original ranks low by weight often has the most votes (its
    /// corners moved alike). The weight's candidates are all kept, for the
    /// photos found by weight: ranking them all by votes was measured among
    /// 1,000 papers only (BENCHMARKS §7, "Votes in the second look").
    pub fn candidates_then_voted(
        self,
        min_shared: usize,
        limit: usize,
        voted: usize,
    ) -> Vec<(String, usize)> {
        let mut chosen = self.candidates(min_shared, limit);
        let more: Vec<(String, usize)> = self
            .ordered(Order::ByVotes)
            .candidates(min_shared, limit + voted)
            .into_iter()
            .filter(|(sha, _)| !chosen.iter().any(|(taken, _)| taken == sha))
            .collect();
        chosen.extend(more);
        chosen
    }

    /// The [`Sharers::candidates`], each with the ranking it was taken from.
    pub fn taken(&self, min_shared: usize, limit: usize) -> Vec<(&Sharer, Ranking)> {
        let rankings: [(Ranking, Vec<&Sharer>); 2] = [
            (
                Ranking::Everywhere,
                self.everywhere
                    .iter()
                    .filter(|sharer| sharer.shared >= min_shared)
                    .collect(),
            ),
            (Ranking::InTheVillage, self.in_the_village.iter().collect()),
        ];
        let mut next = [0, 0];
        let mut taken: HashSet<&str> = HashSet::new();
        let mut chosen = Vec::new();
        let mut turn = 0;
        while chosen.len() < limit {
            // The first photo not taken yet of this turn's ranking, else (it
            // ran out) of the other's.
            let pick = [turn, 1 - turn].into_iter().find_map(|at| {
                let (from, ranking) = &rankings[at];
                while let Some(sharer) = ranking.get(next[at]) {
                    next[at] += 1;
                    if !taken.contains(sharer.sha.as_str()) {
                        return Some((*sharer, *from));
                    }
                }
                None
            });
            let Some((sharer, from)) = pick else { break };
            taken.insert(&sharer.sha);
            chosen.push((sharer, from));
            turn = 1 - turn;
        }
        chosen
    }
}

/// Which of the two rankings of [`Sharers`] a candidate was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// The whole index's.
    Everywhere,
    /// The village's.
    InTheVillage,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(key: i64, sha: &str, village: Option<i64>) -> Posting {
        Posting {
            key,
            sha: sha.to_string(),
            village,
            place: None,
        }
    }

    /// Ranks postings that keep no place.
    fn rank_unplaced<'a>(postings: impl IntoIterator<Item = (i64, &'a str)>) -> Vec<Sharer> {
        rank(
            postings.into_iter().map(|(key, sha)| (key, sha, None)),
            &Default::default(),
        )
    }

    fn shas(chosen: &[(String, usize)]) -> Vec<&str> {
        chosen.iter().map(|(sha, _)| sha.as_str()).collect()
    }

    #[test]
    fn a_key_weighs_one_over_its_holders_and_ties_go_by_sha() {
        let ranked = rank_unplaced([(1, "b"), (1, "a"), (2, "c")]);
        let seen: Vec<(&str, usize, usize, f64)> = ranked
            .iter()
            .map(|s| (s.sha.as_str(), s.shared, s.held_by_it_alone, s.weight))
            .collect();
        assert_eq!(
            seen,
            vec![("c", 1, 1, 1.0), ("a", 1, 0, 0.5), ("b", 1, 0, 0.5)]
        );
    }

    #[test]
    fn the_ranking_does_not_depend_on_the_order_the_postings_come_in() {
        // "p" shares five keys held by 2, 3, 5, 7 and 11 photos: in floating
        // point, 1/2 + 1/3 + 1/5 + 1/7 + 1/11 added forwards and backwards
        // differ in the last bit.
        let mut postings: Vec<(i64, String)> = Vec::new();
        for (key, holders) in [2i64, 3, 5, 7, 11].into_iter().enumerate() {
            let key = key as i64;
            postings.push((key, "p".to_string()));
            for other in 1..holders {
                postings.push((key, format!("q{key}-{other}")));
            }
        }
        let in_order = |postings: &[(i64, String)]| {
            rank_unplaced(postings.iter().map(|(key, sha)| (*key, sha.as_str())))
        };
        let forwards = in_order(&postings);
        postings.reverse();
        let backwards = in_order(&postings);
        postings.rotate_left(7);
        let rotated = in_order(&postings);
        assert_eq!(forwards, backwards);
        assert_eq!(forwards, rotated);
        assert_eq!(forwards[0].sha, "p");
        let exact = 1.0 / 2.0 + 1.0 / 3.0 + 1.0 / 5.0 + 1.0 / 7.0 + 1.0 / 11.0;
        assert!((forwards[0].weight - exact).abs() < 1e-12);
    }

    #[test]
    fn equal_sums_of_weights_tie_and_go_by_sha() {
        // "a" shares three keys held by three photos each, "b" one key of
        // its own: both weigh exactly one, so "a" goes first by its sha (in
        // a binary fixed point 1/3 + 1/3 + 1/3 falls short of 1, and "b"
        // would go first).
        let mut postings: Vec<(i64, String)> = vec![(9, "b".to_string())];
        for key in 1..=3 {
            postings.push((key, "a".to_string()));
            for other in 1..3 {
                postings.push((key, format!("c{key}-{other}")));
            }
        }
        let ranked = rank_unplaced(postings.iter().map(|(key, sha)| (*key, sha.as_str())));
        let first: Vec<(&str, f64)> = ranked
            .iter()
            .take(2)
            .map(|s| (s.sha.as_str(), s.weight))
            .collect();
        assert_eq!(first, vec![("a", 1.0), ("b", 1.0)]);
        assert!((1..=EXACT_HOLDERS).all(|holders| WHOLE_KEY.is_multiple_of(holders)));
    }

    #[test]
    fn in_its_village_a_paper_outranks_chance_sharers_of_the_province() {
        // The original ("orig", village 7) shares three keys, each also held
        // by three photos of other villages: in the whole index it weighs 3/4
        // against the chance sharer "far", whose one key nobody else holds.
        let mut postings = vec![posting(100, "far", Some(1))];
        for key in 1..=3 {
            postings.push(posting(key, "orig", Some(7)));
            for other in ["x", "y", "z"] {
                postings.push(posting(key, &format!("{other}{key}"), Some(2)));
            }
        }
        postings.push(posting(4, "near", Some(7)));
        let sharers = Sharers::rank(postings, Some(7), &Default::default());
        assert_eq!(sharers.everywhere[0].sha, "far");
        let orig = sharers.everywhere.iter().find(|s| s.sha == "orig");
        assert_eq!(orig.map(|s| s.weight), Some(0.75));
        assert_eq!(orig.map(|s| s.held_by_it_alone), Some(0));
        // In village 7 its keys are its own.
        assert_eq!(sharers.in_the_village[0].sha, "orig");
        assert_eq!(sharers.in_the_village[0].weight, 3.0);
        assert_eq!(sharers.in_the_village[0].held_by_it_alone, 3);
        // Compared second, after the whole index's likeliest; a limit of one
        // would have left it out.
        assert_eq!(shas(&sharers.candidates(1, 2)), vec!["far", "orig"]);
        assert_eq!(
            Sharers::rank(vec![], Some(7), &Default::default()).candidates(1, 2),
            Vec::<(String, usize)>::new()
        );
    }

    #[test]
    fn candidates_alternate_each_photo_once_and_one_ranking_fills_for_the_other() {
        let sharer = |sha: &str, shared: usize| Sharer {
            sha: sha.to_string(),
            shared,
            held_by_it_alone: 0,
            weight: shared as f64,
            offsets: Vec::new(),
        };
        let sharers = Sharers {
            everywhere: vec![
                sharer("a", 9),
                sharer("b", 8),
                sharer("c", 7),
                sharer("d", 6),
            ],
            in_the_village: vec![sharer("b", 8), sharer("e", 4), sharer("f", 2)],
        };
        assert_eq!(shas(&sharers.candidates(1, 3)), vec!["a", "b", "c"]);
        assert_eq!(
            shas(&sharers.candidates(1, 10)),
            vec!["a", "b", "c", "e", "d", "f"]
        );
        // Each from the ranking whose turn it was: "b", the whole index's
        // second, is the village's first, taken at the village's first turn.
        use Ranking::{Everywhere, InTheVillage};
        let from: Vec<(&str, Ranking)> = sharers
            .taken(1, 10)
            .into_iter()
            .map(|(sharer, from)| (sharer.sha.as_str(), from))
            .collect();
        assert_eq!(
            from,
            vec![
                ("a", Everywhere),
                ("b", InTheVillage),
                ("c", Everywhere),
                ("e", InTheVillage),
                ("d", Everywhere),
                ("f", InTheVillage)
            ]
        );
        // "d" shares too few keys to be taken from the whole index; "f" as
        // few, but in the village one is enough.
        assert_eq!(
            shas(&sharers.candidates(7, 10)),
            vec!["a", "b", "c", "e", "f"]
        );
        // Sent from no village, or (with no sharer of too few keys) the
        // village's ranking is the same as the whole index's: the whole
        // index's likeliest, in order.
        let alone = Sharers {
            everywhere: sharers.everywhere.clone(),
            in_the_village: vec![],
        };
        assert_eq!(shas(&alone.candidates(1, 3)), vec!["a", "b", "c"]);
        let same = Sharers {
            everywhere: sharers.everywhere.clone(),
            in_the_village: sharers.everywhere.clone(),
        };
        assert_eq!(shas(&same.candidates(1, 3)), vec!["a", "b", "c"]);
        // One village, where a photo sharing a single key ranks second:
        // the whole index leaves it out, the village's ranking takes it.
        let one_village = vec![sharer("a", 9), sharer("g", 1), sharer("b", 8)];
        let single = Sharers {
            everywhere: one_village.clone(),
            in_the_village: one_village,
        };
        assert_eq!(shas(&single.candidates(3, 3)), vec!["a", "g", "b"]);
        // The village's ranking fills when the whole index's runs out.
        let few = Sharers {
            everywhere: vec![sharer("a", 9)],
            in_the_village: vec![sharer("e", 4), sharer("f", 3), sharer("g", 3)],
        };
        assert_eq!(shas(&few.candidates(1, 10)), vec!["a", "e", "f", "g"]);
    }

    #[test]
    fn votes_count_the_keys_that_agree_on_where_the_paper_moved() {
        assert_eq!(votes(&[]), 0);
        // One key agrees with nothing.
        assert_eq!(votes(&[(40, -12)]), 0);
        // Four keys moved by about (40, -12), within the reach of one of
        // them; two others lie anywhere.
        let offsets = [(40, -12), (52, -3), (29, -20), (44, 1), (-90, 70), (130, 5)];
        assert_eq!(votes(&offsets), 4);
        // Just beyond the reach across, or down, no longer agrees.
        assert_eq!(votes(&[(0, 0), (VOTE_REACH + 1, 0)]), 0);
        assert_eq!(votes(&[(0, 0), (0, -VOTE_REACH - 1)]), 0);
        assert_eq!(votes(&[(0, 0), (VOTE_REACH, -VOTE_REACH)]), 2);
    }

    #[test]
    fn votes_in_the_sliding_window_are_those_counted_pair_by_pair() {
        fn pair_by_pair(offsets: &[(i32, i32)]) -> usize {
            let most = offsets
                .iter()
                .map(|(x, y)| {
                    offsets
                        .iter()
                        .filter(|(other_x, other_y)| {
                            (x - other_x).abs() <= VOTE_REACH && (y - other_y).abs() <= VOTE_REACH
                        })
                        .count()
                })
                .max()
                .unwrap_or(0);
            if most < 2 {
                0
            } else {
                most
            }
        }
        // A fixed pseudo-random walk (a linear congruential generator):
        // offsets spread wide, packed tight, repeated, and on the reach's
        // edges, from none to a copy's thousands.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: i32| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % below as u64) as i32
        };
        let mut checked_agreeing = 0;
        for round in 0..300 {
            let spread = [3, VOTE_REACH, 2 * VOTE_REACH + 1, 200, 2_000][round % 5];
            let count = [0, 1, 2, 5, 40, 300, 2_500][round % 7];
            let offsets: Vec<(i32, i32)> = (0..count)
                .map(|_| (next(2 * spread) - spread, next(2 * spread) - spread))
                .collect();
            let expected = pair_by_pair(&offsets);
            assert_eq!(
                votes(&offsets),
                expected,
                "round {round}: {count} offsets within {spread}"
            );
            checked_agreeing += usize::from(expected > 2);
        }
        assert!(
            checked_agreeing > 100,
            "{checked_agreeing} rounds had keys that agree"
        );
    }

    #[test]
    fn by_votes_the_paper_whose_keys_agree_outranks_heavier_chance_sharers() {
        // The searched photo's keys 1 to 7 lie along a line. "orig" shares
        // keys 1 to 4, each also held by two other photos, all moved by
        // (30, 10); "chance" shares keys 5 and 6, held by it alone, that
        // lie anywhere, and "old" shares key 7 in a posting with no place.
        let searched: foldhash::HashMap<i64, Place> =
            (1..=7).map(|key| (key, (key as i16 * 40, 100))).collect();
        let mut postings = Vec::new();
        let placed = |key: i64, sha: &str, place: Option<Place>| Posting {
            key,
            sha: sha.to_string(),
            village: Some(7),
            place,
        };
        for key in 1..=4 {
            postings.push(placed(key, "orig", Some((key as i16 * 40 - 30, 90))));
            for other in ["a", "b"] {
                postings.push(placed(key, &format!("{other}{key}"), Some((5, 5))));
            }
        }
        postings.push(placed(5, "chance", Some((10, 300))));
        postings.push(placed(6, "chance", Some((400, 20))));
        postings.push(placed(7, "old", None));
        let sharers = Sharers::rank(postings, Some(7), &searched);
        let first = |sharers: &Sharers| sharers.in_the_village[0].sha.clone();
        // By weight, "chance" (two keys its own) outweighs "orig" (4 × 1/3).
        assert_eq!(first(&sharers), "chance");
        let orig = sharers.everywhere.iter().find(|s| s.sha == "orig");
        assert_eq!(orig.map(|s| (s.shared, s.votes())), Some((4, 4)));
        let chance = sharers.everywhere.iter().find(|s| s.sha == "chance");
        assert_eq!(chance.map(|s| (s.shared, s.votes())), Some((2, 0)));
        let old = sharers.everywhere.iter().find(|s| s.sha == "old");
        assert_eq!(old.map(|s| (s.shared, s.votes())), Some((1, 0)));
        let by_votes = sharers.clone().ordered(Order::ByVotes);
        assert_eq!(first(&by_votes), "orig");
        assert_eq!(by_votes.everywhere[0].sha, "orig");
        // Equal votes keep the order of their weights.
        let without_votes = |sharers: &Sharers| -> Vec<String> {
            sharers
                .everywhere
                .iter()
                .filter(|s| s.votes() == 0)
                .map(|s| s.sha.clone())
                .collect()
        };
        let none = without_votes(&by_votes);
        assert_eq!(none.len(), 10);
        assert_eq!(none, without_votes(&sharers));
        assert_eq!(sharers.clone().ordered(Order::ByWeight), sharers);
    }

    #[test]
    fn the_likeliest_by_votes_follow_the_candidates_by_weight() {
        // Ten heavy chance sharers (two keys each, their own, 7 px apart:
        // two votes each), five "crowd" photos holding six keys each without
        // places (no vote), then "orig" (three of those keys, all agreeing:
        // three votes) and "noise" (the other three, 33 px apart: none).
        let searched: foldhash::HashMap<i64, Place> = (0..40)
            .map(|key| (key, (100 + key as i16 * 7, 200)))
            .collect();
        let placed = |key: i64, sha: &str, place: Option<Place>| Posting {
            key,
            sha: sha.to_string(),
            village: None,
            place,
        };
        let mut postings = Vec::new();
        for n in 0..10i64 {
            for key in [n * 2, n * 2 + 1] {
                postings.push(placed(key, &format!("chance{n}"), Some((0, 0))));
            }
        }
        for key in 20..23i64 {
            let (x, y) = searched[&key];
            postings.push(placed(key, "orig", Some((x - 10, y - 4))));
            postings.push(placed(key + 3, "noise", Some((key as i16 * 40, 0))));
            for other in 0..5 {
                postings.push(placed(key, &format!("crowd{other}"), None));
                postings.push(placed(key + 3, &format!("crowd{other}"), None));
            }
        }
        let sharers = Sharers::rank(postings, None, &searched);
        let by_weight = sharers.candidates(2, 4);
        assert!(
            by_weight.iter().all(|(sha, _)| sha.starts_with("chance")),
            "{by_weight:?}"
        );
        let with_voted = sharers.clone().candidates_then_voted(2, 4, 2);
        assert_eq!(
            with_voted[..4],
            by_weight[..],
            "the weight's candidates all kept"
        );
        // Then by votes, of the first six: orig (three votes), then the
        // chance sharers (two) not taken yet.
        assert_eq!(with_voted[4], ("orig".to_string(), 3), "{with_voted:?}");
        assert_eq!(with_voted[5], ("chance4".to_string(), 2), "{with_voted:?}");
        assert_eq!(with_voted.len(), 6, "{with_voted:?}");
        // None taken twice, and none beyond what there is.
        let everyone = sharers.everywhere.len();
        let all = sharers.candidates_then_voted(2, 30, 10);
        let distinct: HashSet<&str> = all.iter().map(|(sha, _)| sha.as_str()).collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
        assert_eq!(all.len(), everyone);
    }
}
