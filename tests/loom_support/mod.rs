//! The loom runner the models share: every interleaving of `f`, up to a preemption
//! bound (`default_bound` unless `LOOM_MAX_PREEMPTIONS` says otherwise), reporting how
//! many interleavings were explored.

/// Checks `f` under loom; see the module docs.
#[allow(dead_code)] // not every model file uses both forms
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(default_bound: usize, f: F) {
    model_long(default_bound, loom::model::Builder::new().max_branches, f);
}

/// [`model`] for a model whose single-threaded set-up alone takes many steps (each
/// lock and atomic operation is one of loom's branches): up to `max_branches` of them.
#[allow(dead_code)]
pub(crate) fn model_long<F: Fn() + Sync + Send + 'static>(
    default_bound: usize,
    max_branches: usize,
    f: F,
) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = max_branches;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_bound);
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!(
        "explored {} interleavings",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}
