//! [`TinyLfuOrder`]: W-TinyLFU, an admission window in front of a segmented LRU, with a
//! frequency sketch as the bouncer, and a window that adapts to the workload.
//!
//! # The rule
//!
//! - Entries live in three LRU lists: the **window** (about 3% of the capacity at
//!   first), and the main space split into **probation** and **protected** (80% of
//!   main at first; see *Protected's share* below). A new entry enters the window. A
//!   window hit moves it to the window's back; a probation hit promotes it to
//!   protected; a protected hit moves it to protected's back. Protected's least recent
//!   entries are demoted to probation's back when it is over its share, at the next
//!   eviction (lazily: a hit does no demotion).
//! - Every new entry and every hit is counted in a [`FrequencySketch`] (4-bit counters,
//!   depth 4, one 64-byte block per key, no doorkeeper, halved every `10 ×` capacity
//!   samples). A hit counts at once toward the sample period (a countdown that runs
//!   out when the sketch is due to age or the climber to step) but its increment
//!   waits in the entry's node (4 bits) and reaches the counters 16 at a time, or when
//!   the entry leaves; an entry's popularity is the sketch's estimate plus what its
//!   node holds. So 15 hits in 16 touch no sketch memory, and a common hit is a tag
//!   add, one test, a list move and a decrement: 1.3x the instructions of an `Lru` hit
//!   (175 against 131 per hit, and 1.17x its LL read misses, on 2026-12-07: `COLUMN=2
//!   benches/compare/cachegrind.sh 0 2`; the sketch's block is a cache miss of its
//!   own), and 1.2x to 1.5x its time (`get_hit` of `cargo bench --bench policies`, at
//!   1,000 and 100,000 entries).
//! - When the cache is full, the core asks for a victim. If the window is at or over its
//!   share, its least recent entry (the *candidate*) competes with main's least recent
//!   (probation's front, else protected's): the candidate is admitted to probation only
//!   if the sketch estimates it more popular than the victim by more than one (the
//!   access that brought it in; see `admit`), and the loser is evicted.
//!   An attacker could keep a victim artificially hot so that nothing is admitted: a
//!   warm candidate (estimate >= 6) that loses is still admitted with probability 1/128,
//!   from a seeded generator. With the window under its share, main's victim goes.
//!   While the cache is not full, window overflow moves to probation unopposed.
//! - **Second chance**: a ghost (as `S3Fifo`'s) remembers the fingerprints of recently
//!   rejected candidates (as many as the entries the sketch was sized for). A newcomer
//!   the ghost remembers is *returning*: its reuse distance is short, a recency signal the
//!   sketch's halved counts may miss (web and storage traces whose working set is
//!   slightly larger than the cache). A returning candidate that loses the contest is
//!   admitted all the same while second chances are paying off, and main's victim is
//!   remembered as *displaced* (in a second ghost, an eighth of the first's size).
//!   Whether they pay off is a score, kept in `[-16, 16]`: +1 when an entry admitted on
//!   a second chance is hit in main, -1 when a displaced key comes back (the victim was
//!   the better bet). With a score below 1, one returning loser in 32 still gets its
//!   second chance, so that the score can recover when the workload changes. Loops and
//!   scans, where every key has the same frequency, drive the score down and keep the
//!   plain rule. On `../shared/traces` (the sim, seeds 42, 7 and 1234) second chances
//!   cut TinyLfu's shortfall against the better of moka and quick_cache (less 0.5
//!   points) from 29 to 31 points over 14 or 15 missed cells to 12 to 15 points over 10
//!   to 12; p3 at 131072 entries goes from 41.5% to 46.9%, web07 gains 1 to 3 points in
//!   every cell. The score's bound is small (16) so that it turns within one phase of
//!   a trace in each shard of a `Sharded` cache as well, where a shard sees an eighth
//!   of the events or less (see `SECOND_CHANCE_LIMIT`).
//! - **Protected's share** adapts by ARC's rule. A third ghost remembers main's
//!   victims (as many as the entries sketched), marked if they had ever been
//!   protected. A newcomer found there tells which segment was too small: an unmarked
//!   one (evicted from probation, never protected: a recency victim) moves its weight
//!   of share from protected to probation; a marked one (a frequency victim) moves it
//!   back, up to protected's initial 80% of main. The window's climber trades share
//!   between the window and protected and leaves their sum alone; this rule changes
//!   only that sum. A fixed 80% suits OLTP (with protected at 0, oltp at 250 to 2000
//!   loses 1 to 4 points) but not the disk trace p3 at 131,072 entries, which wants
//!   it near 0 (48.8% against 46.5%); adapting gets both, and on
//!   `../shared/traces` (the sim, seeds 42, 7 and 1234) it cut the shortfall against
//!   the bar from 6.3-7.8 points to 4.9-6.0 (bare) and from 7.7-8.2 to 3.8-5.8
//!   (`Sharded`), with p3 at 131,072 from 46.3-46.5% to 48.1-48.3%.
//!   It costs a ghost look-up per new entry and a ghost insert per eviction (4 bytes
//!   per entry), and nothing on a hit. On `benches/compare`'s workload (a), where
//!   about one request in six is a miss, an operation went from 320 to 340
//!   instructions and from 2.28 to 2.48 LL read misses (`benches/compare/cachegrind.sh
//!   2`). The look-up now shares its cache line with that of the rejected candidates'
//!   ghost (the two are one `GhostPair`), which took that workload from 2.45 to 2.28
//!   LL read misses per operation (and skipping the displaced ghost at the score's
//!   floor to 2.25: 354.5 instructions per operation on 2026-12-06).
//!   On a stationary Zipf workload (that same (a)) protected's share settles at 5% to
//!   13% of the capacity, not 80%: probation's victims outnumber protected's in the
//!   ghost, so they come back more often. The hit ratio does not suffer (81.7% to
//!   81.9% with the share held at 80%), and neither does the cost: ARC's own rule,
//!   which scales each step by the ratio of the two kinds of victims, keeps protected
//!   near 60% there but saves under 1 instruction per operation (most slow hits are
//!   then window hits, the climber having grown the window), and over seeds 42 to 46
//!   it loses 1.2 points on p3 at 131,072 (under its bar) for 1 point on sprite at
//!   200. So the step stays one entry's weight.
//! - **Hill climbing**: hits and misses (new entries) are sampled over one sketch
//!   period, but at least [`CLIMB_SAMPLE_MIN`] requests; at the end of each sample the
//!   window share moves by a step, in the same direction as last time if the hit ratio
//!   improved and in the other one if it dropped, except after a step that could not
//!   move the window (at its bound): then only a drop of a point or more turns it
//!   around (`UNMOVED_NOISE`). The first step grows the window, unless it was idle
//!   (below). The step starts at 5% of the capacity, decays by 2% each sample, and
//!   restarts when the hit ratio jumps by 5 points or more (the workload changed).
//!   The floor on the sample: at small capacities a sketch period is short (1,000
//!   requests at 100 entries), and over so few requests the hit ratio swings with the
//!   trace's own phases (sprite at 100: from 10% to 75% between consecutive samples),
//!   so the restart fired at nearly every sample, the step never decayed and the
//!   window walked at random (up to 80% of the cache on a trace that wants it small).
//!   The first step grows because the window starts small (3%): a first step down is
//!   cut short at one entry, and while the hit ratio rises as the cache warms up, the
//!   climber keeps "shrinking" a window that cannot shrink (sprite at 500 sat at one
//!   entry for half the trace). An idle window's step down goes there on purpose
//!   (see below, and a stranded window after it). A window that grows takes share from
//!   protected and pulls main's coldest entries in; one that shrinks pushes its
//!   coldest entries into probation. At most [`TRANSFER_LIMIT`] entries move per
//!   operation; the rest follow on later ones.
//! - **An idle window shrinks**: at the end of a sample in which no window entry was
//!   hit and at most one newcomer in 32 was a recently rejected candidate, the window
//!   steps down, whatever the hit ratio did. Such a window only delays its entries on
//!   their way to the contest: on a loop longer than the cache (the trace scan: 2,001
//!   keys through 1,000 entries) nothing is hit before it leaves the window, and the
//!   hit ratio alone found that out late (its first step grew the window from 30 to
//!   80 entries, and it reached one entry after three samples, 30,000 of 50,000
//!   requests). The second condition keeps a window that is merely too small: keys
//!   asked again after more new keys than the window holds are rejected candidates
//!   when they come back, and the climber must be left to grow the window to them
//!   over samples in which the hit ratio is flat. Without it the window went to one
//!   entry and stayed there: 49.9% where the hit ratio's rule reaches 69% to 71%
//!   (`the_window_grows_to_reach_keys_asked_again_past_it`). The recently rejected
//!   are a small ghost (`recent`, a quarter of the main ghost's size, bounded by
//!   2^18: 1 byte per entry), asked and fed only until the sample's first window hit,
//!   so a window in use costs a test per miss. With gaps of 20 to 300 new keys at
//!   1,000 entries (three seeds each, measured when one recently rejected newcomer
//!   was enough to keep a window) the window and the hit ratio were those of the hit
//!   ratio's rule alone (which itself fails from about 200). On `../shared/traces`
//!   (the sim, medians over seeds 42 to 46) scan at 250 / 500 / 1000 gains 0.33 /
//!   0.56 / 1.15 points and loop at 256 / 512 0.07 / 0.12, bare and sharded, and no
//!   other cell moves by more than 0.07; the built-in demo gains 0.7 at 1,000
//!   entries; a loop over 97% of the cache mixed with keys never asked again gains 2
//!   points at 10,000 and 50,000 entries.
//!
//!   The price was the climber's own trap, reached more often: at its floor (one
//!   entry, or with a weigher one entry's weight: the window cannot shrink), with
//!   the step pointing down, a flat or rising hit ratio keeps the window there (that
//!   is what keeps it at its floor on a loop; see `UNMOVED_NOISE`), so when a
//!   workload whose window is idle gave way to one that wants a window, the window
//!   could stay at its floor. Hence **a stranded window grows**: at its floor, at the
//!   end of a sample whose hit ratio jumped by 5 points or more (a new workload), with
//!   no window hit and more than one newcomer in 32 a recently rejected candidate,
//!   the window takes a restarted step up. On a loop-and-one-offs phase followed by
//!   the gap workload (1,000 entries, means over 20 seeds, the phase changing at
//!   20,000 / 30,000 / 40,000 / 100,000 requests) the idle rule alone got 48.6% to
//!   68.7% (48.6% whenever the change came at 30,000 or 40,000), the hit ratio's
//!   rule alone 50.8% to 68.3%, and the two with this one 61.7% to 68.4%
//!   (`a_window_stranded_at_its_floor_grows_when_the_workload_changes`, with unit
//!   weights and with every entry weighing 100). It is not better everywhere: with
//!   the change at 20,000 the idle rule alone got 68.7% and this 61.7%. Growing on
//!   every jump, floor or not, cost oltp@1250 3.2 points; growing at the floor
//!   whenever rejected keys came back, jump or not, cost a sharded loop just over
//!   its shard 2.5 (loop@1024); counting window hits at the floor as evidence too
//!   cost oltp@5000 0.3. As it is, no cell of `../shared/traces` moves. Its blind
//!   spot: a single window hit in the sample (a newcomer asked again at once) turns
//!   it off, though that is evidence for a larger window too.
//!
//! This follows the design of Caffeine's W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU:
//! A Highly Efficient Cache Admission Policy", and the hill climber of "Adaptive
//! Software Cache Management", Middleware'18), written afresh for the [`Core`](crate::Core).
//!
//! # Sizing
//!
//! The order needs the core's capacity (the window's share and the sketch's width): the
//! core tells it through [`Order::set_capacity`] when it is built, so
//! `TinyLfu::new(capacity)` and the builder just work. The sketch starts at
//! `min(capacity, 1024)` entries and grows without losing counts as the number of
//! entries grows (so a byte budget does not buy a sketch sized in bytes): it doubles
//! when the entries outnumber it, until it is sized for the capacity. So it ends sized
//! for the entries held (its period and the ghosts exactly, its counters rounded up to
//! a power of two): at most twice the sketch's width per entry (32 bytes up to 8,192
//! entries, tapering to 8 beyond; see [`FrequencySketch`]), however the capacity is
//! counted. An order that was never told its capacity keeps everything in the window
//! until the first eviction, then takes the weight it holds as its capacity.
//!
//! # Resizing
//!
//! [`Policy::set_capacity_into`](crate::Policy::set_capacity_into) changes the capacity
//! of a cache in use ([`Order::on_resize`]), then the core evicts until the weight fits,
//! by the usual contests. What was learned is kept, and a resize undone by the opposite
//! one (within a factor of 2) restores the shares exactly:
//! - the sketch keeps every count, and goes on growing with the entries up to the new
//!   capacity. Where the old capacity had held its period back, the period is raised
//!   to what its counters already hold (no allocation). Its period, the climber's
//!   sample and the ghosts follow it as they always do;
//! - unless a shrink leaves the sketch sized for 4 times or more the
//!   entries the cache will hold (the new capacity with unit weights; with a weigher,
//!   the entries that fit it at their mean weight; at least `min(capacity, 1024)`, the
//!   size a new order starts at): then it is **folded** to what a new order holding
//!   those entries would have ([`FrequencySketch::shrink_to`]: its blocks are halved
//!   by merging twins, taking the larger counter, so that no estimate falls; its
//!   period becomes `10 ×` the entries, and if the samples since its last aging
//!   already reach that, it ages at once). The ghosts are cut to a new order's size
//!   with it, keeping the newest of what they remember bucket by bucket, and the
//!   climber's sample (the sketch's period, at least [`CLIMB_SAMPLE_MIN`]) follows:
//!   a sample already that long ends at the next request. O(old sketch and ghosts),
//!   once. Kept, a shrink from 1,000,000 entries to 1,000 held 8 MiB of counters and
//!   9.5 MB of ghosts (32 KiB and 9.5 KB at 1,000) and aged every 10M requests, so
//!   old popularity faded 1,000 times more slowly than in a new cache of 1,000; and
//!   the climber's sample of 10M requests froze the window. On a hot set that moved
//!   after the shrink (`tinylfu_shrink_folds_its_sketch` in `tests/resize.rs`: 300,000
//!   requests at 100,000 entries, shrunk to 1,000, then 200,000 on new keys), the
//!   last 100,000 requests got 0.89 to 0.96 of the hits of a cache built at 1,000 and
//!   given the same requests (seeds 1 to 3); folded, 0.98 to 1.08. The threshold
//!   leaves a sharded cache's small moves, and any resize within a factor of 2, as
//!   they were;
//! - the window keeps its weight, unless that would more than double or less than halve
//!   its fraction of the capacity (then it takes that bound; the bounds always admit
//!   the initial 3%), or leave main less than half its fraction; at least 1;
//! - protected keeps its share by the same rule, as a fraction of the new main (at most
//!   all of it); from a main of one entry or less, whose share was rounding, it takes
//!   the initial 80%;
//! - the climber's step and any window move under way scale with the capacity; its
//!   sample, its last hit ratio and its direction are kept;
//! - segments left over their shares: protected's excess is demoted at once; the
//!   window's competes for main as candidates in the evictions that follow, and what
//!   they leave of it moves to probation unopposed (at once if no eviction is needed,
//!   else at the next insert, as while the cache fills). O(1) plus the entries moved
//!   (protected's excess demoted, the window's moved to probation: at most the weight
//!   the resize took from each segment's share, so a few entries for a shard's small
//!   moves, unbounded for a large shrink) and evicted.
//!
//! **Reopened room**: room that opens in main (a growth, removals) is taken by window
//! overflow without facing the admission filter (as while the cache first fills).
//! These *fillers* go to probation's front, behind earlier fillers, not to its back:
//! they are main's next victims, oldest first, so the next shrink (or the next
//! contests) evicts them rather than main's oldest entries. Room is never left empty
//! (a cleared or grown cache fills freely), and while the cache first fills probation
//! holds fillers only, in the same order as before; a filler that is hit is promoted
//! as usual. One index (the last filler) tracks the run, O(1) per operation. Moving
//! the capacity within 5% of 1,000 every 500 requests on a skewed workload
//! (`tinylfu_lends_capacity_without_forgetting` in `tests/resize.rs`) cost 5.3% of
//! the hits over seeds 1 to 12 (0.917 to 1.006 of a fixed cache's) with fillers at
//! probation's back, and costs 0.9% (0.947 to 1.061) with them at its front; removing
//! 50 skewed keys every 500 requests, 11.4% and 8.2%. No unit-weight cell of
//! `../shared/traces` moves (the sim, seeds 42 to 46, bare and sharded). A sharded
//! cache's reserve resizes its shards only while they fill and after removals, not in
//! a full cache's steady state.
//!
//! # Weights, deadlines, removals
//!
//! Each node records the weight it was accounted with, so that a write that changes an
//! entry's weight, and a removal at any time (expiry, `remove`, `retain`), keep the
//! segment weights exact. Deadlines are the core's business.
//!
//! # Invariants (checked by [`Order::validate`])
//!
//! - every entry is in exactly one of the three lists, the one its node names;
//! - the requests counted but not yet handed to the sketch are fewer than the samples
//!   left to its next aging (so it ages on time);
//! - each segment's weight is the sum of its members' recorded weights;
//! - `window_max + main_max == capacity` and `protected_max <= main_max`.
//!
//! Every hook is O(1) amortized: the sketch's halving is O(width) once per `10 ×` width
//! samples, and window resizing moves at most [`TRANSFER_LIMIT`] entries per call. The
//! exception is [`Order::on_resize`], which moves the entries a resize left over their
//! segments' shares at once, and folds the sketch and the ghosts after a large shrink
//! (see *Resizing*).

use crate::core::{Entry, Order, Slots, spare};
use crate::ghost::{Ghost, GhostPair};
use crate::list::{Links, List, NIL, linked_by_field};
use crate::sketch::{FrequencySketch, SAMPLES_PER_ENTRY};

/// Most entries moved between segments by one operation when the window is resized.
pub const TRANSFER_LIMIT: usize = 128;

const WINDOW: u32 = 0;
const PROBATION: u32 = 1;
const PROTECTED: u32 = 2;

/// A candidate at least this popular that loses admission may still get in (1/128).
const WARM: u32 = 6;
/// Initial window share (of the capacity), in hundredths. 1% (Caffeine's) loses on
/// recency-biased traces whose runs are too short for the climber to move far (OLTP,
/// web07); 3% keeps loops (loop, scan) near their optimum.
const WINDOW_PERCENT: u64 = 3;
/// Protected share of main, in tenths.
const PROTECTED_TENTHS: u64 = 8;
/// Hill climbing: the first step (and a restarted one), as a fraction of the capacity.
/// 5% rather than Caffeine's 6.25%: with the first step growing the window, 6.25%
/// overshot on short scans (scan at 1000 ended 0.03 points under its bar, before an
/// idle window shrank).
const STEP_FRACTION: f64 = 0.05;
/// Hill climbing: each step is this fraction of the previous one.
const STEP_DECAY: f64 = 0.98;
/// Hill climbing: a hit ratio change at least this large restarts the step.
const RESTART_THRESHOLD: f64 = 0.05;
/// Hill climbing: after a step that could not move the window (it was at one entry,
/// or protected had no share left to give), the climber turns around only on a drop
/// of the hit ratio at least this large. Any drop used to turn it, and a drop then is
/// the sample's own noise: on loop@512 (`../shared/traces`) the window, at one entry,
/// was pushed back up by about 20 entries every fourth sample on drops of 0.2 to 0.6
/// points, and each push cost its sample 2 to 3 points (49.5-49.6% against a bar of
/// 50.02%; 50.02% with this rule, seeds 42, 7 and 1234). With 0.5 points it reaches
/// 49.8-49.9%; 1 and 2 points give the same table.
const UNMOVED_NOISE: f64 = 0.01;
/// The sketch starts at most this large, and grows with the entries.
const INITIAL_SKETCH: u64 = 1024;
/// Hill climbing: the fewest requests in one sample (10,240: the sketch period of a
/// sketch of 1,024 entries, the size it starts at): fewer make the sampled hit ratio
/// follow the trace's phases rather than the window (see the module docs).
pub const CLIMB_SAMPLE_MIN: u64 = SAMPLES_PER_ENTRY * INITIAL_SKETCH;
/// Second chances: the score's bound (the evidence it can hold either way). Small
/// enough that the score turns within one phase of a trace in every shard of a
/// `Sharded` cache, which sees a fraction of the events: with 64, the 8 shards of
/// `Sharded<TinyLfu>` turned 8 times more slowly than the bare policy in trace time, and
/// lost 1.5 points to it on p3 at 131,072 entries; with 16 they match it.
const SECOND_CHANCE_LIMIT: i32 = 16;
/// Second chances: with a score below 1, a returning loser still gets in with
/// probability `1 / 2^SECOND_CHANCE_EXPLORE`, so that the score keeps being measured.
///
/// The exploring has a price on a loop, where every admission of a loser evicts an
/// entry that was about to be used, and it pays where second chances do but the score
/// has yet to learn it (on a short trace, or after a phase change). On
/// `../shared/traces` (the sim, medians over seeds 42 to 46, against the bars of its
/// check):
/// - at `1 / 2^8` the loops gain (scan@1000 47.56%, zigzag@500 22.96%, loop@512
///   50.33%, against 47.19%, 22.46% and 50.15% here), but multi2@1000 (57.28%, bar
///   57.43%), multi2@2000 (69.85%, bar 70.03%) and web07@5000 (62.70%, bar 63.24%) fall
///   under their bars; `1 / 2^6` loses the two multi2 cells too;
/// - at `1 / 2^4` zigzag@500 and @1000 fall under theirs (21.75% and 46.32%), and at
///   `1 / 2^3` scan@1000 and loop@512 as well;
/// - with none, multi2@2000 is 69.2% on every seed: the score starts at 0, and on a
///   trace of 26,000 requests only exploring finds out that second chances pay there.
///   Which seeds find it early is most of that cell's spread (69.8% to 71.0% over
///   seeds 42 to 61).
///
/// (Before an idle window shrank, the exploring also set which way the climber's noise
/// fell on scan@1000, and rarer exploring lost 1 to 2 points there.)
const SECOND_CHANCE_EXPLORE: u32 = 5;
/// The idle window's evidence: `recent` remembers a `1 / RECENT_SHARE` of the rejected
/// candidates the main ghost does (a quarter: 250 at 1,000 entries), at most
/// [`RECENT_MAX`]. With a half, scan@1000 (a loop whose keys come back after about
/// 1,000 rejections) found too many of its own keys to look idle. Its reach is not
/// sharp: a ghost forgets per bucket of 8, so at 1,000 entries keys that come back
/// after 400 rejections are found in every sample and after 800 in some.
const RECENT_SHARE: usize = 4;
/// The most fingerprints `recent` holds. Its fingerprints are 24 bits, so a newcomer
/// matches one it never was with a chance of about `bound / 2^24`: at most 1.6% at
/// this bound, under [`NEAR_SHARE`]'s 1 in 32.
const RECENT_MAX: usize = 1 << 18;
/// A window is idle only if at most one newcomer in `NEAR_SHARE` was found in
/// `recent`. A single find turned the rule off as soon as the false matches counted
/// (from about 10,000 entries: every sample had one, and the rule never fired); keys
/// asked again shortly after their rejection make a far larger share (half the
/// newcomers of the gap workload in the tests).
const NEAR_SHARE: u64 = 32;

/// An entry's TinyLFU state: its links in its segment, its sketch key, its hits not
/// yet handed to the sketch, whether it is returning (see the module docs' second
/// chance), its segment, and the weight it is accounted with.
#[derive(Clone, Copy, Debug)]
pub struct TinyLfuNode {
    links: Links,
    /// From the top: the sketch key (24 bits of the hash), the protected-once flag (1
    /// bit), the returning flag (1 bit), the hits not yet in the sketch (4 bits), the
    /// segment (2 bits).
    tag: u32,
    weight: u32,
}

impl Default for TinyLfuNode {
    fn default() -> Self {
        TinyLfuNode {
            links: Links::UNLINKED,
            tag: QUEUE_MASK,
            weight: 0,
        }
    }
}

/// The segment bits of a node's tag.
const QUEUE_MASK: u32 = 3;
/// One pending hit in a node's tag.
const PENDING_ONE: u32 = 1 << 2;
/// The pending-hits bits of a node's tag (0..=15).
const PENDING_MASK: u32 = 15 << 2;
/// The returning flag of a node's tag: in the window, the ghost remembered the key
/// when it came in; in probation, it was admitted on a second chance and has not been
/// hit since.
const RETURNING: u32 = 1 << 6;
// `on_access` relies on a 16th pending hit carrying into the flag.
const _: () = assert!(PENDING_MASK + PENDING_ONE == RETURNING);
/// The protected-once flag of a node's tag: the entry has been in protected (it stays
/// set after a demotion), so main's ghost files it as a frequency victim.
const WAS_PROTECTED: u32 = 1 << 7;
/// The sketch key's shift in a node's tag.
const KEY_SHIFT: u32 = 8;
/// The set of [`TinyLfuOrder`]'s ghost pair that remembers rejected candidates.
const REJECTED: usize = 0;
/// The set of [`TinyLfuOrder`]'s ghost pair that remembers main's victims.
const VICTIMS: usize = 1;
/// The low bit of a fingerprint in main's ghost: set for a victim that had been
/// protected. Free in every fingerprint: [`TinyLfuNode::ghost_fp`] reverses a key of
/// `32 - KEY_SHIFT` bits plus 1 (at most `33 - KEY_SHIFT` bits) into the high bits, so
/// the low `KEY_SHIFT - 1` bits are 0.
const PROTECTED_VICTIM: u32 = 1;
const _: () = assert!(KEY_SHIFT >= 2);

impl TinyLfuNode {
    #[inline]
    fn queue(&self) -> u32 {
        self.tag & QUEUE_MASK
    }

    #[inline]
    fn key(&self) -> u64 {
        u64::from(self.tag >> KEY_SHIFT)
    }

    /// Hits counted for the sketch's sample period but not yet added to its counters.
    #[inline]
    fn pending(&self) -> u32 {
        (self.tag & PENDING_MASK) >> 2
    }

    /// The key's fingerprint in the ghosts: its 24 sketch-key bits plus 1 (never 0),
    /// bit-reversed so that they fill the high bits, where the ghost picks a bucket.
    #[inline]
    fn ghost_fp(&self) -> u32 {
        ((self.tag >> KEY_SHIFT) + 1).reverse_bits()
    }

    #[inline]
    fn set_queue(&mut self, q: u32) {
        self.tag = (self.tag & !QUEUE_MASK) | q;
    }
}

linked_by_field!(TinyLfuNode, links);

/// The sketch key of a table hash: the top 24 bits of a strong mix of all 64 (the
/// sharded layer fixes some hash bits per shard; the mix spreads the rest). Computed
/// once per insert and kept in the node, so that a hit feeds the sketch with no re-hash.
#[inline]
fn sketch_key(hash: u64) -> u32 {
    let mut z = hash;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> (32 + KEY_SHIFT)) as u32
}

/// Protected's initial share of a main space of weight `main` (its ceiling when it
/// adapts): [`PROTECTED_TENTHS`] tenths.
#[inline]
fn protected_share(main: u64) -> u64 {
    (u128::from(main) * u128::from(PROTECTED_TENTHS) / 10) as u64
}

/// The window's initial share of a capacity: [`WINDOW_PERCENT`], rounded up, at least
/// 1 and at most the capacity.
#[inline]
fn initial_window(capacity: u64) -> u64 {
    let window = (u128::from(capacity) * u128::from(WINDOW_PERCENT)).div_ceil(100) as u64;
    window.clamp(1, capacity.max(1))
}

/// A share `x` of a space of weight `old` (not 0), carried over to a space of weight
/// `new` by a resize: `x` itself (what was learned is kept, and a resize undone by the
/// opposite one restores it exactly), unless that would more than double or less
/// than halve its fraction of the space; then the nearer of those bounds. The bounds
/// always admit `initial`, the share a space of `new` starts with, so that a share
/// fixed by rounding in a tiny space is not blown up with it.
fn carry_share(x: u64, old: u64, new: u64, initial: u64) -> u64 {
    let (x, old, new) = (u128::from(x), u128::from(old), u128::from(new));
    let lo = ((x * new / old) / 2).min(u128::from(initial));
    let hi = ((x * new).div_ceil(old).saturating_mul(2)).max(u128::from(initial));
    // `lo <= initial <= hi`, and `x` fits in a u64: so does the result.
    x.clamp(lo, hi) as u64
}

/// The W-TinyLFU eviction order. See [`TinyLfu`](crate::TinyLfu) and the
/// [module documentation](self) for the rule.
///
/// `Default` draws a random seed (for the sketch's hash and the admission coin);
/// [`TinyLfuOrder::with_seed`] makes runs reproducible:
///
/// ```
/// use polycache_policies::{Policy, TinyLfu, TinyLfuOrder};
/// let mut cache = TinyLfu::<u64, u64>::builder(100)
///     .order(TinyLfuOrder::with_seed(7))
///     .build()
///     .unwrap();
/// for k in 0..1000 {
///     if cache.get(&(k % 150)).is_none() {
///         cache.insert(k % 150, k).unwrap();
///     }
/// }
/// assert!(cache.len() <= 100);
/// cache.validate().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct TinyLfuOrder {
    window: List,
    probation: List,
    protected: List,
    window_weight: u64,
    probation_weight: u64,
    protected_weight: u64,
    /// The core's capacity; 0 until told (or inferred at the first eviction).
    capacity: u64,
    window_max: u64,
    protected_max: u64,
    sketch: FrequencySketch,
    seed: u64,
    rng: u64,
    /// Set by the first eviction: the cache has been full.
    full: bool,
    /// Requests (hits and new entries) in the climber's current sample, up to the
    /// last [`TinyLfuOrder::flush`].
    requests: u64,
    /// New entries in the climber's current sample.
    misses: u64,
    /// Window hits in the climber's current sample.
    window_hits: u64,
    /// Newcomers in the current sample that were candidates rejected shortly before
    /// (found in `recent`): a larger window would have hit them. Counted until the
    /// sample's first window hit.
    near_misses: u64,
    /// Fingerprints of the most recently rejected candidates, a [`RECENT_SHARE`]th as
    /// many as the entries sketched, at most [`RECENT_MAX`]; fed and asked only while
    /// the sample has seen no window hit (see the module docs' idle window).
    recent: Ghost,
    /// Requests left before the bookkeeping of [`TinyLfuOrder::tick`] is due: the
    /// fewer of the sketch's samples to its next aging and the requests to the end of
    /// the climber's sample (1 while a window resize is pending). A hit only counts it
    /// down.
    countdown: u64,
    /// The countdown's value when it was armed: `countdown_span - countdown` requests
    /// are not yet handed to the sketch and the climber.
    countdown_span: u64,
    prev_hit_rate: f64,
    /// The window's share when the climber last took a step: if it has not changed
    /// since, the step moved nothing (the window was at a bound).
    window_at_step: u64,
    step: f64,
    /// Window resizing still to do, in weight: positive grows the window.
    pending: i64,
    /// Requests per hill-climbing sample (the sketch's sample period, at least
    /// [`CLIMB_SAMPLE_MIN`]).
    sample_period: u64,
    admitted: u64,
    rejected: u64,
    /// Two ghosts of the same bound in one cache line per fingerprint, so that a
    /// newcomer asks both for one miss: set [`REJECTED`] holds the fingerprints (sketch
    /// key + 1) of rejected candidates; set [`VICTIMS`], those of main's victims,
    /// [`PROTECTED_VICTIM`] set for those that had been protected (a newcomer found
    /// there resizes protected; see the module docs).
    ghosts: GhostPair,
    /// Fingerprints of the victims that second chances displaced.
    displaced: Ghost,
    /// Whether second chances pay off, in `[-SECOND_CHANCE_LIMIT, SECOND_CHANCE_LIMIT]`.
    second_chance_score: i32,
    /// Candidates admitted on a second chance.
    second_chances: u64,
    /// The last of the *fillers*, the entries that moved from the window to main
    /// because main had room, with no contest ([`TinyLfuOrder::balance_window`]): they
    /// are probation's first members, oldest first, and this is the last of them
    /// (`NIL` if there is none). It leaves the fillers when it leaves probation's
    /// front run: promoted, moved to probation's back, evicted or removed.
    last_filler: u32,
}

impl Default for TinyLfuOrder {
    /// An order with a random seed.
    fn default() -> Self {
        Self::with_seed(ahash::RandomState::new().hash_one(0x7419_u64))
    }
}

impl TinyLfuOrder {
    /// An order whose sketch hash and admission coin come from `seed`: two caches with
    /// the same seed, hasher and operations behave identically.
    pub fn with_seed(seed: u64) -> Self {
        let mut order = TinyLfuOrder {
            window: List::new(),
            probation: List::new(),
            protected: List::new(),
            window_weight: 0,
            probation_weight: 0,
            protected_weight: 0,
            capacity: 0,
            window_max: u64::MAX,
            protected_max: 0,
            sketch: FrequencySketch::new(64, seed),
            seed,
            rng: seed | 1,
            full: false,
            requests: 0,
            misses: 0,
            window_hits: 0,
            near_misses: 0,
            recent: Ghost::default(),
            countdown: 1,
            countdown_span: 1,
            prev_hit_rate: 0.0,
            window_at_step: 0,
            step: 0.0,
            pending: 0,
            sample_period: 0,
            admitted: 0,
            rejected: 0,
            ghosts: GhostPair::default(),
            displaced: Ghost::default(),
            second_chance_score: 0,
            second_chances: 0,
            last_filler: NIL,
        };
        order.arm();
        order
    }

    /// An order already sized for `capacity` (the core resizes it to its own capacity
    /// when built, so this is only useful for an order used outside a [`Core`]).
    ///
    /// [`Core`]: crate::Core
    pub fn new(capacity: u64, seed: u64) -> Self {
        let mut order = Self::with_seed(seed);
        order.configure(capacity);
        order
    }

    fn configure(&mut self, capacity: u64) {
        let capacity = capacity.max(1);
        self.capacity = capacity;
        self.window_max = initial_window(capacity);
        let main = capacity - self.window_max;
        self.protected_max = protected_share(main);
        // The first step grows the window, unless it was idle (see the module docs).
        self.step = self.restarted_step();
        self.pending = 0;
        // The requests not yet handed in cannot have been due to age the old sketch
        // (the countdown would have run out): only the climber still counts them.
        self.take_counted();
        self.sketch = FrequencySketch::new(capacity.min(INITIAL_SKETCH), self.seed);
        self.sample_period = self.climb_sample();
        self.size_ghosts();
        self.arm();
    }

    /// The core's capacity changed to `capacity` while it holds entries (see the module
    /// docs' *Resizing*): the shares are carried over, the sketch, the ghosts and the
    /// climber's sample are kept, unless a large shrink folds them. O(1), plus the
    /// sketch's growth (if the old capacity held it back) or fold, and the entries moved
    /// to fit the new shares.
    fn resize<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, capacity: u64) {
        let capacity = capacity.max(1);
        let old = self.capacity;
        if capacity == old {
            return;
        }
        if old == 0 {
            // Never told: nothing was sized, so nothing is carried over (as at the
            // first eviction of such an order).
            self.configure(capacity);
            self.balance_window(slots);
            return;
        }
        // The requests counted so far belong to the sketch's period as it stands.
        self.flush(slots);
        let ratio = |x: u64, num: u64, den: u64| u128::from(x) * u128::from(num) / u128::from(den);
        let old_window = self.window_max;
        let old_main = old - old_window;
        // Main keeps at least half its fraction too, so that a large window does not
        // take all of a shrunken cache.
        let main_floor = (ratio(old_main, capacity, old) / 2) as u64;
        let window = carry_share(old_window, old, capacity, initial_window(capacity))
            .clamp(1, capacity - main_floor);
        let main = capacity - window;
        self.protected_max = if protected_share(old_main) == 0 {
            // Main held one entry at most: its share was rounding, not learned.
            protected_share(main)
        } else {
            carry_share(self.protected_max, old_main, main, protected_share(main)).min(main)
        };
        // The climber: its step is a fraction of the capacity, and so is a window move
        // under way; whether the last step moved the window is kept.
        self.step *= capacity as f64 / old as f64;
        let pending = i128::from(self.pending) * i128::from(capacity) / i128::from(old);
        self.pending = pending.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let at_step = i128::from(self.window_at_step) + i128::from(window) - i128::from(old_window);
        self.window_at_step = at_step.clamp(0, i128::from(u64::MAX)) as u64;
        self.window_max = window;
        self.capacity = capacity;
        // The sketch keeps its counts and never shrinks; `on_insert` grows it with the
        // entries up to the new capacity. Where the old capacity held it back, it is
        // asked for the new one now, as a new order would be (within its counters).
        if capacity > old && self.sketch.asked() == old {
            self.sketch.grow_to(capacity.min(self.sketch.entries()));
        }
        if capacity < old {
            self.fold_sketch(slots, capacity);
        }
        self.sample_period = self.climb_sample();
        self.size_ghosts();
        // Segments over their new shares: protected's excess is demoted now (the next
        // eviction would do it). The window's excess competes for main, as candidates,
        // in the evictions the core makes next; with none to make, it moves to
        // probation unopposed, as while the cache was filling.
        self.demote_protected(slots);
        if self.weight() <= capacity {
            self.balance_window(slots);
        }
        self.arm();
    }

    /// After a shrink to `capacity`: if the sketch is sized for 4 times or more the
    /// entries a fresh order would size it for (the rule every shrink follows, the
    /// core's `spare`: small moves and a resize undone within a factor of 2 keep every
    /// count), folds it down to those
    /// (see [`FrequencySketch::shrink_to`]) and shrinks the ghosts to match, keeping
    /// what fits of both. The entries are those the cache will hold once the core has
    /// evicted down to the capacity: all it holds if they fit, else as many as the
    /// capacity holds at their mean weight (the capacity itself with unit weights);
    /// at least `min(capacity, INITIAL_SKETCH)`, the size a fresh order starts at.
    /// O(old sketch and ghosts), once per such shrink.
    fn fold_sketch<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, capacity: u64) {
        let (len, weight) = (slots.len() as u64, self.weight());
        let fit = if weight <= capacity {
            len
        } else {
            (u128::from(len) * u128::from(capacity) / u128::from(weight)) as u64
        };
        let entries = fit.clamp(capacity.min(INITIAL_SKETCH), capacity);
        if !spare(self.sketch.asked(), entries) {
            return;
        }
        if self.sketch.shrink_to(entries) {
            self.aged(slots);
        }
        let entries = usize::try_from(self.sketch.asked()).unwrap_or(usize::MAX);
        self.ghosts.shrink_to(entries);
        self.displaced.shrink_to(entries / 8);
        self.recent
            .shrink_to((entries / RECENT_SHARE).min(RECENT_MAX));
    }

    /// Requests per hill-climbing sample: the sketch's sample period, at least
    /// [`CLIMB_SAMPLE_MIN`].
    fn climb_sample(&self) -> u64 {
        self.sketch.sample_period().max(CLIMB_SAMPLE_MIN)
    }

    /// Sizes the ghosts from the entries the sketch was asked for (so from the entries
    /// held, not from a byte budget), exactly rather than rounded up to the sketch's
    /// power of two: as many rejected candidates, an eighth as many displaced victims.
    fn size_ghosts(&mut self) {
        let entries = usize::try_from(self.sketch.asked()).unwrap_or(usize::MAX);
        self.ghosts.set_bound(entries);
        self.displaced.set_bound(entries / 8);
        self.recent
            .set_bound((entries / RECENT_SHARE).min(RECENT_MAX));
    }

    /// The weight budget this order is sized for (0 if it has not been told yet).
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The window's current share of the capacity (it adapts by hill climbing).
    pub fn window_max(&self) -> u64 {
        self.window_max
    }

    /// The protected segment's current share of the capacity. It adapts to main's
    /// victims that return (see the module docs), and the window's climber moves share
    /// between it and the window.
    pub fn protected_max(&self) -> u64 {
        self.protected_max
    }

    /// The weights held by the window, probation and protected segments.
    pub fn segment_weights(&self) -> (u64, u64, u64) {
        (
            self.window_weight,
            self.probation_weight,
            self.protected_weight,
        )
    }

    /// Total weight of the entries this order holds.
    pub fn weight(&self) -> u64 {
        self.window_weight + self.probation_weight + self.protected_weight
    }

    /// The frequency sketch. Its [sample count](FrequencySketch::samples) lags behind
    /// by the requests counted since the order last handed them in (fewer than the
    /// samples left to its next aging, which happens on time).
    pub fn sketch(&self) -> &FrequencySketch {
        &self.sketch
    }

    /// How many window candidates were admitted to main, and how many were rejected.
    pub fn admissions(&self) -> (u64, u64) {
        (self.admitted, self.rejected)
    }

    /// How many of the admitted candidates got in on a second chance (they lost the
    /// frequency contest but were returning; see the module docs).
    pub fn second_chances(&self) -> u64 {
        self.second_chances
    }

    #[inline]
    fn list(&mut self, q: u32) -> (&mut List, &mut u64) {
        match q {
            WINDOW => (&mut self.window, &mut self.window_weight),
            PROBATION => (&mut self.probation, &mut self.probation_weight),
            _ => (&mut self.protected, &mut self.protected_weight),
        }
    }

    /// Moves member `i` from its segment to the back of segment `to`.
    #[inline]
    fn transfer<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32, to: u32) {
        self.unfill(slots, i);
        let node = slots.entries[i as usize].node;
        let w = u64::from(node.weight);
        let (list, weight) = self.list(node.queue());
        list.remove(slots.entries, i);
        *weight -= w;
        let (list, weight) = self.list(to);
        list.push_back(slots.entries, i);
        *weight += w;
        let node = &mut slots.entries[i as usize].node;
        node.set_queue(to);
        if to == PROTECTED {
            node.tag |= WAS_PROTECTED;
        }
    }

    #[inline]
    fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The popularity of a resident entry: the sketch's estimate plus the hits its node
    /// holds back, saturating like a counter.
    #[inline]
    fn estimate(&self, node: &TinyLfuNode) -> u32 {
        (self.sketch.estimate(node.key()) + node.pending()).min(15)
    }

    /// Counts a hit on entry `i` in its node's pending hits, which reach the sketch's
    /// counters 16 at a time (or when the entry leaves). A hit thus touches no sketch
    /// memory 15 times in 16: the sketch's block is a cache miss of its own, about 10
    /// ns on a 1K cache, which would double the cost of a hit. (The hit counts toward
    /// the sketch's sample period through [`TinyLfuOrder::count_request`].)
    #[inline]
    fn count_hit<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32) {
        let node = &mut slots.entries[i as usize].node;
        if node.tag & PENDING_MASK == PENDING_MASK {
            node.tag &= !PENDING_MASK;
            let key = node.key();
            self.sketch.add(key, 16);
        } else {
            node.tag += PENDING_ONE;
        }
    }

    /// Counts one request (a hit or a new entry) for the sketch's sample period and
    /// the climber's sample: a decrement, and the bookkeeping when it is due.
    #[inline(always)]
    fn count_request<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        self.countdown -= 1;
        if self.countdown == 0 {
            self.tick(slots);
        }
    }

    /// The countdown ran out (or the sketch grew): hand the requests counted to the
    /// sketch and the climber, take a climbing step if one is due, and re-arm.
    #[cold]
    #[inline(never)]
    fn tick<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        self.flush(slots);
        if self.full && (self.pending != 0 || self.requests >= self.sample_period) {
            self.climb_step(slots);
        }
        self.arm();
    }

    /// Hands the requests counted since the countdown was armed to the sketch (which
    /// ages, with the nodes' pending hits, if its period is over: the countdown never
    /// runs past that) and to the climber.
    fn flush<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        let n = self.take_counted();
        if n > 0 && self.sketch.sample_many(n) {
            self.aged(slots);
        }
    }

    /// Takes the requests counted since the countdown was armed: the climber's sample
    /// gets them, and they are returned for the sketch.
    fn take_counted(&mut self) -> u64 {
        let n = self.countdown_span - self.countdown;
        self.countdown_span = self.countdown;
        self.requests += n;
        n
    }

    /// Arms the countdown (see its field) from a flushed state.
    fn arm(&mut self) {
        let mut n = self.sketch.samples_to_aging();
        if self.full {
            let climb = if self.pending != 0 {
                1
            } else {
                self.sample_period.saturating_sub(self.requests).max(1)
            };
            n = n.min(climb);
        }
        self.countdown = n;
        self.countdown_span = n;
    }

    /// The sketch halved its counters: halve every node's pending hits too. O(entries),
    /// once per sample period (`10 ×` capacity samples), like the sketch's own halving.
    #[cold]
    fn aged<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        for e in slots.entries.iter_mut() {
            let t = e.node.tag;
            e.node.tag = (t & !PENDING_MASK) | ((t & PENDING_MASK) >> 1 & PENDING_MASK);
        }
    }

    /// A hit that is not the common case of `on_access`: a window or probation entry,
    /// or a node whose pending hits are due to the sketch.
    #[inline(never)]
    fn access_slow<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32) {
        self.count_hit(slots, i);
        let node = &mut slots.entries[i as usize].node;
        if node.tag & RETURNING != 0 && node.queue() == PROBATION {
            // A second chance paid off.
            node.tag &= !RETURNING;
            self.second_chance_score = (self.second_chance_score + 1).min(SECOND_CHANCE_LIMIT);
        }
        let node = *node;
        match node.queue() {
            WINDOW => self.window_hit(slots, i),
            PROBATION => {
                // Promoted; protected's overflow is demoted lazily, by `victim` (see
                // `demote_protected`).
                if u64::from(node.weight) <= self.protected_max {
                    self.transfer(slots, i, PROTECTED);
                } else {
                    self.unfill(slots, i);
                    self.probation.move_to_back(slots.entries, i);
                }
            }
            _ => self.protected.move_to_back(slots.entries, i),
        }
        self.count_request(slots);
    }

    /// Whether `candidate` should replace `victim` in main.
    fn admit<K, V>(
        &mut self,
        slots: &Slots<'_, K, V, TinyLfuNode>,
        candidate: u32,
        victim: u32,
    ) -> bool {
        let c = self.estimate(&slots.entries[candidate as usize].node);
        let v = self.estimate(&slots.entries[victim as usize].node);
        // The candidate's estimate counts the access that brought it in; the victim's
        // next access has not happened yet. On a loop every key has the same frequency,
        // so a bare `c > v` admits every candidate by exactly that one access and evicts
        // the entry about to be used (scan at 250: 2% hits instead of 11.5%). So the
        // candidate must beat the victim by more than that one access.
        if c > v + 1 {
            true
        } else {
            c >= WARM && self.next_random() >> 57 == 0
        }
    }

    /// Whether a returning `candidate` that lost the contest gets in all the same.
    #[inline]
    fn second_chance(&mut self, candidate: &TinyLfuNode) -> bool {
        candidate.tag & RETURNING != 0
            && (self.second_chance_score > 0
                || self.next_random() >> (64 - SECOND_CHANCE_EXPLORE) == 0)
    }

    /// Moves window overflow to probation (only while the cache has room: no contest).
    /// The entries moved are *fillers* (see the module docs' *Reopened room*): they go
    /// to probation's front, behind the fillers already there, so that main's victims
    /// are the fillers first, oldest first.
    fn balance_window<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        while self.window_weight > self.window_max {
            let Some(i) = self.window.front() else { break };
            self.transfer(slots, i, PROBATION);
            self.probation.remove(slots.entries, i);
            if self.last_filler == NIL {
                self.probation.push_front(slots.entries, i);
            } else {
                self.probation
                    .insert_after(slots.entries, self.last_filler, i);
            }
            self.last_filler = i;
        }
    }

    /// Entry `i`, still in its segment, is about to leave it or to move within it: if
    /// it is the last filler, the one before it (in probation's front run of fillers)
    /// is the last now, if any.
    #[inline]
    fn unfill<K, V>(&mut self, slots: &Slots<'_, K, V, TinyLfuNode>, i: u32) {
        if i == self.last_filler {
            self.last_filler = slots.entries[i as usize].node.links.prev;
        }
    }

    /// A hit on window entry `i` (its pending hits already counted): to the window's
    /// back. The window is over its share here only after a write made one of its
    /// entries heavier, so the balancing is out of line.
    #[inline(always)]
    fn window_hit<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32) {
        self.window_hits += 1;
        self.window.move_to_back(slots.entries, i);
        if self.window_weight > self.window_max {
            self.balance_window_cold(slots);
        }
    }

    /// [`TinyLfuOrder::balance_window`] out of line, for [`TinyLfuOrder::window_hit`].
    #[cold]
    #[inline(never)]
    fn balance_window_cold<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        self.balance_window(slots);
    }

    /// Main's victim `v` is evicted: remember it in main's ghost, marked if it had been
    /// protected, and return it.
    #[inline]
    fn evict_from_main<K, V>(
        &mut self,
        slots: &Slots<'_, K, V, TinyLfuNode>,
        v: u32,
    ) -> Option<u32> {
        let node = &slots.entries[v as usize].node;
        let mark = if node.tag & WAS_PROTECTED != 0 {
            PROTECTED_VICTIM
        } else {
            0
        };
        self.ghosts.insert_in(VICTIMS, node.ghost_fp() | mark);
        Some(v)
    }

    /// A newcomer of weight `w` whose fingerprint is `fp`: if main evicted it recently,
    /// the segment it was evicted from was too small (ARC's rule, see the module docs).
    /// Probation grows by `w` if it had never been protected, protected if it had, up
    /// to its initial share of main.
    #[inline]
    fn resize_protected(&mut self, fp: u32, w: u64) {
        if self.ghosts.contains_in(VICTIMS, fp) {
            self.protected_max = self.protected_max.saturating_sub(w);
        } else if self.ghosts.contains_in(VICTIMS, fp | PROTECTED_VICTIM) {
            let ceiling = protected_share(self.capacity.saturating_sub(self.window_max));
            if self.protected_max < ceiling {
                self.protected_max = (self.protected_max + w).min(ceiling);
            }
        }
    }

    /// Demotes protected's least recent entries while it is over its share.
    ///
    /// A probation hit promotes to protected without demoting anything: the demotions
    /// wait for the next eviction (or window growth), which moves protected's least
    /// recent entries at that time to probation's back. The work is the same (one
    /// demotion per promotion, at most), but a hit does 2 list operations instead of 4,
    /// and the demoted entries are the least recent ones at eviction time, which is what
    /// the segmented LRU means. O(1) amortized: each demotion pays for a promotion.
    fn demote_protected<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        while self.protected_weight > self.protected_max {
            let Some(i) = self.protected.front() else {
                break;
            };
            self.transfer(slots, i, PROBATION);
        }
    }

    /// At the end of the climber's sample, picks the next window adjustment; then
    /// carries out (part of) any pending adjustment. Called by `tick` when either is
    /// due.
    fn climb_step<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        let requests = self.requests;
        if requests >= self.sample_period {
            let hits = requests - self.misses;
            let hit_rate = hits as f64 / requests as f64;
            let change = hit_rate - self.prev_hit_rate;
            // A step that moved nothing (the window at its bound) did not cause the
            // change: only a clear drop turns the climber around.
            let moved = self.window_max != self.window_at_step;
            let at_floor = self.window_at_floor(slots);
            let unhit = self.window_hits == 0;
            let near = self.near_misses * NEAR_SHARE > self.misses;
            // An idle window (see the module docs) shrinks, whatever the hit ratio did.
            let amount = if unhit && !near && !at_floor {
                -self.step.abs()
            } else if unhit && near && at_floor && change.abs() >= RESTART_THRESHOLD {
                // Stranded at the floor by a workload that has changed (the jump),
                // with keys coming back that a larger window would hit. The floor's
                // own rule would keep it there while the hit ratio is flat (see the
                // module docs).
                self.restarted_step()
            } else if change >= 0.0 || (!moved && change > -UNMOVED_NOISE) {
                self.step
            } else {
                -self.step
            };
            self.window_at_step = self.window_max;
            self.step = if change.abs() >= RESTART_THRESHOLD {
                self.restarted_step() * amount.signum()
            } else {
                STEP_DECAY * amount
            };
            self.prev_hit_rate = hit_rate;
            self.pending = amount as i64;
            self.requests = 0;
            self.misses = 0;
            self.window_hits = 0;
            self.near_misses = 0;
        }
        if self.pending > 0 {
            self.grow_window(slots);
        } else if self.pending < 0 {
            self.shrink_window(slots);
        }
    }

    /// The size of a first or restarted climbing step (up).
    fn restarted_step(&self) -> f64 {
        STEP_FRACTION * self.capacity as f64
    }

    /// Whether the window cannot shrink: the entry it would give up first weighs all
    /// it may hold (one entry of weight 1 in an entry-counted cache).
    fn window_at_floor<K, V>(&self, slots: &Slots<'_, K, V, TinyLfuNode>) -> bool {
        match self.window.front() {
            Some(i) => u64::from(slots.entries[i as usize].node.weight) >= self.window_max,
            None => self.window_max <= 1,
        }
    }

    fn grow_window<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        let quota = (self.pending as u64).min(self.protected_max);
        self.protected_max -= quota;
        self.window_max += quota;
        self.demote_protected(slots);
        let (quota, done) = self.transfer_within(
            slots,
            quota,
            |o| o.probation.front().or(o.protected.front()),
            WINDOW,
        );
        self.protected_max += quota;
        self.window_max -= quota;
        self.pending = if done { 0 } else { quota as i64 };
    }

    /// Moves entries from the front of `from(self)` to segment `to` while their weights
    /// fit in `quota`, at most [`TRANSFER_LIMIT`] of them; returns the quota left and
    /// whether the move finished (`false` when the limit stopped it).
    fn transfer_within<K, V>(
        &mut self,
        slots: &mut Slots<'_, K, V, TinyLfuNode>,
        mut quota: u64,
        from: impl Fn(&Self) -> Option<u32>,
        to: u32,
    ) -> (u64, bool) {
        let mut moved = 0;
        while let Some(i) = from(self) {
            let w = u64::from(slots.entries[i as usize].node.weight);
            if quota < w {
                break;
            }
            if moved == TRANSFER_LIMIT {
                return (quota, false);
            }
            quota -= w;
            moved += 1;
            self.transfer(slots, i, to);
        }
        (quota, true)
    }

    fn shrink_window<K, V>(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) {
        let quota = self
            .pending
            .unsigned_abs()
            .min(self.window_max.saturating_sub(1));
        self.protected_max += quota;
        self.window_max -= quota;
        let (quota, done) = self.transfer_within(slots, quota, |o| o.window.front(), PROBATION);
        self.protected_max -= quota;
        self.window_max += quota;
        self.pending = if done { 0 } else { -(quota as i64) };
    }
}

impl<K, V> Order<K, V> for TinyLfuOrder {
    type Node = TinyLfuNode;

    fn set_capacity(&mut self, capacity: u64) {
        self.configure(capacity);
    }

    fn on_resize(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, capacity: u64) {
        self.resize(slots, capacity);
    }

    #[inline]
    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32, hash: u64) {
        let key = sketch_key(hash);
        let w = slots.weight(i) as u32;
        let node = &mut slots.entries[i as usize].node;
        node.tag = (key << KEY_SHIFT) | WINDOW;
        node.weight = w;
        self.window.push_back(slots.entries, i);
        self.window_weight += u64::from(w);
        if self.full {
            let fp = slots.entries[i as usize].node.ghost_fp();
            if self.ghosts.contains_in(REJECTED, fp) {
                slots.entries[i as usize].node.tag |= RETURNING;
            }
            if self.window_hits == 0 && self.recent.contains(fp) {
                self.near_misses += 1;
            }
            self.resize_protected(fp, u64::from(w));
            if self.second_chance_score > -SECOND_CHANCE_LIMIT && self.displaced.contains(fp) {
                // A victim of a second chance is back: the victim was the better bet.
                // (At the score's floor this would change nothing: no look-up, no miss.)
                self.second_chance_score = (self.second_chance_score - 1).max(-SECOND_CHANCE_LIMIT);
            }
        }
        self.sketch.add(u64::from(key), 1);
        self.misses += 1;
        self.countdown -= 1;
        let len = slots.len() as u64;
        if len > self.sketch.entries() && self.sketch.entries() < self.capacity {
            // The counted requests belong to the old period.
            self.flush(slots);
            // `len` is one more than the entries sketched (a power of two): the sketch
            // doubles. Asking for `2 * len` (as this did) rounded up to four times the
            // entries, so a byte budget's sketch ended sized for 2 to 4 times the
            // entries it held; and an entry capacity just above a power of two
            // stopped the growth short of it (period and ghosts sized for 8,194
            // entries at a capacity of 10,000).
            self.sketch
                .grow_to(len.next_power_of_two().min(self.capacity));
            self.sample_period = self.climb_sample();
            self.size_ghosts();
            self.tick(slots);
        } else if self.countdown == 0 {
            self.tick(slots);
        }
        self.balance_window(slots);
    }

    /// A hit. The common cases (a protected or window entry, nothing to hand the
    /// sketch, no bookkeeping due) are a tag update, one list move and a decrement,
    /// like an `Lru` hit; the rest (probation hits, returning entries, a 16th pending
    /// hit) is out of line.
    #[inline(always)]
    fn on_access(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32, _: u64) {
        let node = &mut slots.entries[i as usize].node;
        // One more pending hit, and one test for the common cases: the flag bit sits
        // just above the pending bits, so the add sets it if the pending hits were
        // already 15 (they carry into it). It is never set in a protected node; a window
        // node may have it (returning), and then the add could carry through it into
        // the next bit: so the test looks at the flag before and after the add.
        let tag = node.tag.wrapping_add(PENDING_ONE);
        if tag & (QUEUE_MASK | RETURNING) == PROTECTED {
            node.tag = tag;
            // Protected may hold just the hot set, whose hits then land on its front
            // about half the time (see `move_to_back_unpredictable`).
            self.protected.move_to_back_unpredictable(slots.entries, i);
        } else if (node.tag | tag) & (QUEUE_MASK | RETURNING) == WINDOW {
            // Inline, not through `access_slow`: with the climber's window at 20% of
            // the cache (a Zipf workload), most hits that are not protected ones are
            // window hits.
            node.tag = tag;
            self.window_hit(slots, i);
        } else {
            return self.access_slow(slots, i);
        }
        self.count_request(slots);
    }

    /// Re-accounts entry `i`, whose value a write replaced with one of another weight.
    #[inline]
    fn on_reweigh(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32, _: u64) {
        let w = slots.weight(i) as u32;
        let node = &mut slots.entries[i as usize].node;
        let old = u64::from(node.weight);
        node.weight = w;
        let (_, weight) = self.list(node.queue());
        *weight = *weight - old + u64::from(w);
    }

    #[inline]
    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, i: u32) {
        let node = slots.entries[i as usize].node;
        // The sketch keeps the history of keys that leave.
        self.sketch.add(node.key(), node.pending());
        self.unfill(slots, i);
        let (list, weight) = self.list(node.queue());
        list.remove(slots.entries, i);
        *weight -= u64::from(node.weight);
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>, from: u32, to: u32) {
        let q = slots.entries[to as usize].node.queue();
        self.list(q).0.relocate(slots.entries, from, to);
        if from == self.last_filler {
            self.last_filler = to;
        }
    }

    fn victim(&mut self, slots: &mut Slots<'_, K, V, TinyLfuNode>) -> Option<u32> {
        if !self.full {
            self.flush(slots);
            self.full = true;
            // The climber samples the full cache only.
            self.requests = 0;
            self.misses = 0;
            self.window_hits = 0;
            self.near_misses = 0;
            if self.capacity == 0 {
                // Never told: the weight held now is (about) the budget.
                self.configure(self.weight());
                self.balance_window(slots);
            }
            self.arm();
        }
        let candidate = if self.window_weight >= self.window_max {
            self.window.front()
        } else {
            None
        };
        self.demote_protected(slots);
        let main = self.probation.front().or(self.protected.front());
        match (candidate, main) {
            (Some(c), Some(v)) => {
                let candidate = slots.entries[c as usize].node;
                if self.admit(slots, c, v) {
                    self.admitted += 1;
                    slots.entries[c as usize].node.tag &= !RETURNING;
                    self.transfer(slots, c, PROBATION);
                    self.evict_from_main(slots, v)
                } else if self.second_chance(&candidate) {
                    self.admitted += 1;
                    self.second_chances += 1;
                    let victim = slots.entries[v as usize].node;
                    self.displaced.insert(victim.ghost_fp());
                    self.transfer(slots, c, PROBATION);
                    self.evict_from_main(slots, v)
                } else {
                    self.rejected += 1;
                    slots.entries[c as usize].node.tag &= !RETURNING;
                    let fp = candidate.ghost_fp();
                    self.ghosts.insert_in(REJECTED, fp);
                    if self.window_hits == 0 {
                        // Only an idle sample asks `recent` (stale fingerprints in it
                        // can only make a window look less idle).
                        self.recent.insert(fp);
                    }
                    Some(c)
                }
            }
            (Some(c), None) => Some(c),
            (None, Some(v)) => self.evict_from_main(slots, v),
            (None, None) => self.window.front(),
        }
    }

    fn clear(&mut self) {
        self.window.clear();
        self.probation.clear();
        self.protected.clear();
        self.window_weight = 0;
        self.probation_weight = 0;
        self.protected_weight = 0;
        self.pending = 0;
        self.ghosts.clear();
        self.displaced.clear();
        self.recent.clear();
        self.last_filler = NIL;
    }

    fn validate(&self, entries: &[Entry<K, V, TinyLfuNode>]) -> Result<(), String> {
        let segments = [
            ("window", WINDOW, &self.window, self.window_weight),
            (
                "probation",
                PROBATION,
                &self.probation,
                self.probation_weight,
            ),
            (
                "protected",
                PROTECTED,
                &self.protected,
                self.protected_weight,
            ),
        ];
        let mut members = 0;
        for (name, q, list, weight) in segments {
            let mut sum = 0u64;
            list.validate(entries, |i| {
                let node = &entries[i as usize].node;
                if node.queue() != q {
                    return Err(format!("{name} member {i} says segment {}", node.queue()));
                }
                if node.weight == 0 {
                    return Err(format!("{name} member {i} has weight 0"));
                }
                if q == PROTECTED && node.tag & RETURNING != 0 {
                    return Err(format!("protected member {i} is flagged returning"));
                }
                sum += u64::from(node.weight);
                Ok(())
            })?;
            if sum != weight {
                return Err(format!("{name} weighs {sum}, accounted {weight}"));
            }
            members += list.len();
        }
        if self.countdown == 0 || self.countdown > self.countdown_span {
            return Err(format!(
                "countdown {} of {}",
                self.countdown, self.countdown_span
            ));
        }
        let counted = self.countdown_span - self.countdown;
        if counted >= self.sketch.samples_to_aging() {
            return Err(format!(
                "{counted} requests held back from a sketch due to age in {}",
                self.sketch.samples_to_aging()
            ));
        }
        if self.last_filler != NIL {
            let filler = entries
                .get(self.last_filler as usize)
                .map(|e| e.node.queue());
            if filler != Some(PROBATION) {
                return Err(format!(
                    "last filler {} is not in probation ({filler:?})",
                    self.last_filler
                ));
            }
        }
        self.ghosts.validate()?;
        self.displaced.validate()?;
        self.recent.validate()?;
        if members != entries.len() {
            return Err(format!(
                "segments hold {members} of {} entries",
                entries.len()
            ));
        }
        if self.capacity > 0 {
            if self.window_max == 0 || self.window_max > self.capacity {
                return Err(format!(
                    "window share {} of {}",
                    self.window_max, self.capacity
                ));
            }
            let main_max = self.capacity - self.window_max;
            if self.protected_max > main_max {
                return Err(format!(
                    "protected share {} over main's {main_max}",
                    self.protected_max
                ));
            }
            if self.weight() > self.capacity {
                return Err(format!(
                    "holds {} over capacity {}",
                    self.weight(),
                    self.capacity
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel::TimerWheel;

    /// A large shrink cuts the ghosts (and the sketch) to those of a cache built at the
    /// new capacity, keeping some of what they remember; a shrink by less than 4 keeps
    /// them.
    #[test]
    fn a_large_shrink_cuts_the_ghosts() {
        use crate::{DefaultHashBuilder, Policy, TinyLfu};
        let seeded = |capacity: u64| {
            TinyLfu::<u64, u64>::builder(capacity)
                .hasher(DefaultHashBuilder::with_seeds(1, 2, 3, 4))
                .order(TinyLfuOrder::with_seed(1))
                .build()
                .unwrap()
        };
        let play = |c: &mut TinyLfu<u64, u64>, k: u64| {
            if c.get(&k).is_none() {
                c.insert(k, k).unwrap();
            }
        };
        let slots = |o: &TinyLfuOrder| (o.ghosts.slots(), o.displaced.slots(), o.recent.slots());
        let (mut shrunk, mut fresh) = (seeded(20_000), seeded(1_000));
        for i in 0..100_000u64 {
            // Hot keys among one-off ones: rejections and evictions fill the ghosts.
            let k = if i % 2 == 0 { i % 500 } else { i };
            play(&mut shrunk, k);
            play(&mut fresh, k);
        }
        assert_eq!(slots(shrunk.order()), (20_480, 2_560, 5_120));
        shrunk.set_capacity(6_000).unwrap();
        assert_eq!(slots(shrunk.order()), (20_480, 2_560, 5_120));
        shrunk.set_capacity(1_000).unwrap();
        shrunk.validate().unwrap();
        let o = shrunk.order();
        assert_eq!(slots(o), slots(fresh.order()));
        assert_eq!(slots(o), (1_000, 128, 256));
        assert_eq!(o.sketch.asked(), 1_000);
        assert_eq!(o.sample_period, CLIMB_SAMPLE_MIN);
        // Some of what the ghosts remembered survives (one-off keys were rejected).
        let remembered = (0..100_000u64)
            .filter(|&i| {
                let node = TinyLfuNode {
                    tag: sketch_key(shrunk.hash(&i)) << KEY_SHIFT,
                    ..TinyLfuNode::default()
                };
                o.ghosts.contains_in(REJECTED, node.ghost_fp())
            })
            .count();
        assert!(remembered > 100, "the ghost remembers {remembered} keys");
    }

    /// A window entry's 16th hit hands its pending hits to the sketch and leaves its
    /// flags alone, returning or not: the hit path's one test must not let the pending
    /// hits' carry run through the returning flag into the next bit.
    #[test]
    fn a_window_entrys_sixteenth_hit_reaches_the_sketch() {
        for returning in [false, true] {
            let mut order = TinyLfuOrder::new(100, 7);
            let mut entries = vec![Entry {
                key: 1u64,
                value: (),
                node: TinyLfuNode::default(),
            }];
            let mut timers = TimerWheel::default();
            let mut slots = Slots {
                entries: &mut entries,
                weights: &[],
                timers: &mut timers,
            };
            Order::<u64, ()>::on_insert(&mut order, &mut slots, 0, 0x1234_5678_9abc_def0);
            if returning {
                slots.entries[0].node.tag |= RETURNING;
            }
            let flags = slots.entries[0].node.tag & (RETURNING | WAS_PROTECTED | QUEUE_MASK);
            for hit in 1..=16 {
                Order::<u64, ()>::on_access(&mut order, &mut slots, 0, 0);
                let node = slots.entries[0].node;
                assert_eq!(node.pending(), hit % 16, "returning: {returning}");
                assert_eq!(
                    node.tag & (RETURNING | WAS_PROTECTED | QUEUE_MASK),
                    flags,
                    "hit {hit}, returning: {returning}"
                );
            }
            // The insert and the 16 hits: a counter saturates at 15.
            let node = slots.entries[0].node;
            assert_eq!(
                order.sketch.estimate(node.key()),
                15,
                "returning: {returning}"
            );
            order.validate(slots.entries).unwrap();
        }
    }
}
