#pragma once
// Expert health: for every cluster of a run, what its expert is (size, keywords, training
// state, held-out perplexities and gain) and how much it is used (questions the router sent to
// it in chat and through the API, and how far they were from its centroid). Read from what the
// workspace stores; nothing is trained or evaluated here. `moin experts`, the Experts & training
// view and the cluster map's colour modes all read this one report.
#include <cstdint>
#include <string>
#include <vector>

namespace moin {

class Workspace;

/// One cluster of a run and its expert.
struct ExpertHealth {
    int cluster = 0;
    /// Chunks in the cluster.
    int64_t size = 0;
    /// The run's class-based tf-idf keywords of the cluster, best first (listClusters).
    std::vector<std::string> keywords;
    /// "trained" (the newest job is done), "queued", "paused", "running", "failed",
    /// "cancelled" (the newest job's state), or "none" (no job ever). A newer job that is not
    /// done does not take away an expert trained before: see expertJob.
    std::string state = "none";
    /// The cluster's newest training job (0: none).
    int64_t job = 0;
    /// The job whose adapter serves the cluster: the newest done one (0: no expert).
    int64_t expertJob = 0;
    /// Held-out perplexity of the base and of the expert on the cluster's held-out chunks, as
    /// that job's evaluation stored them (NaN without an expert).
    double basePerplexity = 0;
    double expertPerplexity = 0;
    /// relativeReduction(base, expert): the share of the base's perplexity the expert removes;
    /// negative when it makes things worse (NaN without an expert).
    double gain = 0;
    /// Recorded questions the router sent to this cluster (routing "auto"; its first
    /// candidate), answered by its expert or, while it has none, by the base: from chat (the
    /// app and `moin chat`) and from the API (`moin serve`).
    int64_t chatQuestions = 0;
    int64_t apiQuestions = 0;
    int64_t questions() const { return chatQuestions + apiQuestions; }
    /// Mean L2 distance of those questions to the cluster's centroid (NaN without questions).
    double meanDistance = 0;
};

/// The report of one run.
struct ExpertHealthReport {
    int64_t runId = 0;
    /// Every cluster of the run, by id.
    std::vector<ExpertHealth> experts;
    /// Of the questions counted, those recorded before messages kept their run (schema 8):
    /// attributed to the newest run created before them, which is the run that routed them
    /// unless another run was made active by hand meanwhile.
    int64_t inferredRunQuestions = 0;
};

/// The health of every cluster of `runId` (0: the active run). Throws moin::Error when the
/// workspace has no clustering run, or `runId` names no finished run (the message lists the
/// runs there are).
ExpertHealthReport expertHealth(Workspace& workspace, int64_t runId = 0);

} // namespace moin
