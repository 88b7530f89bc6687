#pragma once
// Perplexity of the base and of each expert on held-out chunks of clusters: the measure that
// says whether an expert learned its group.
#include "moin/cancel.h"
#include "moin/model.h"
#include "moin/router.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moin {

class Workspace;

struct EvaluationOptions {
    /// Clustering run; 0 = the active run.
    int64_t runId = 0;
    /// Experts (clusters) to evaluate; empty = every trained expert of the run.
    std::vector<int> experts;
    /// Also score each expert on another expert's cluster (the next trained cluster), as a
    /// control: an expert should help its own group more than another.
    bool control = false;
    /// Held-out chunks scored per cluster at most (0 = all).
    int maxChunks = 0;
    std::string device = "auto";
    /// "auto", "fp32" or "bf16" (see precision.h).
    std::string precision = "auto";
};

struct ExpertEvaluation {
    int expert = 0;
    int64_t heldOutChunks = 0;
    int64_t heldOutTokens = 0;
    double basePerplexity = 0;
    double expertPerplexity = 0;
    /// With control: the other cluster, and base and expert perplexity on its held-out chunks
    /// (controlCluster -1 when there is no other trained expert).
    int controlCluster = -1;
    double controlBasePerplexity = 0;
    double controlExpertPerplexity = 0;
};

struct RoutedEvaluationOptions {
    /// Clustering run; 0 = the active run.
    int64_t runId = 0;
    /// How each chunk is routed (by its own text).
    RoutingPolicy policy;
    /// Answer each chunk with its own cluster's expert instead (what a perfect router would
    /// pick); `policy` is then not used.
    bool oracle = false;
    /// Held-out chunks per cluster at most (0 = all).
    int maxChunks = 0;
    std::string device = "auto";
    /// "auto", "fp32" or "bf16" (see precision.h).
    std::string precision = "auto";
};

/// The routed answer's perplexity on the held-out chunks of every trained expert's cluster.
struct RoutedEvaluation {
    /// "top1", "mix" or "oracle".
    std::string routing;
    int k = 1;
    double temperature = 0;
    int64_t chunks = 0;
    /// Tokens scored (each chunk's tokens after its BOS).
    int64_t tokens = 0;
    /// Chunks the base answered alone (beyond the fallback distance).
    int64_t fallbackChunks = 0;
    /// Chunks whose nearest expert is their own cluster's.
    int64_t routedToOwnCluster = 0;
    /// Chunks routed (in part) to a cluster with no trained expert: that share is the base's.
    int64_t untrainedRoutes = 0;
    double basePerplexity = 0;
    /// exp of the mean over tokens of -log sum_i w_i p_i(token): each chunk's routed experts'
    /// probabilities mixed with the routing weights (top1 and oracle: one expert, weight 1).
    double routedPerplexity = 0;
};

/// Routes every held-out chunk of every trained expert's cluster (the split its job used) by
/// its own text and scores it with the routing's answer, and with the base on the same tokens.
/// Throws moin::Error for a run without trained experts or a bad policy.
RoutedEvaluation evaluateRouting(Workspace& workspace, const RoutedEvaluationOptions& options,
                                 const std::function<void(int done, int total)>& onProgress = {},
                                 const CancelToken* cancel = nullptr);

/// Perplexity over several sequences (each starting with BOS), weighted by their tokens: every
/// token after each BOS is scored once. Sequences shorter than two tokens are skipped.
PerplexityResult perplexityOfSequences(const LanguageModel& model,
                                       const std::vector<std::vector<int32_t>>& sequencesWithBos);

/// The held-out chunks of a cluster of a run: the split its training job uses at `fraction`
/// (splitCluster over the cluster's chunk ids), ascending.
std::vector<int64_t> heldOutChunks(Workspace& workspace, int64_t runId, int cluster,
                                   double fraction);

/// Those chunks as `model`'s token sequences, BOS first (at most maxChunks; 0 = all): what
/// perplexityOfSequences scores.
std::vector<std::vector<int32_t>> heldOutSequences(Workspace& workspace,
                                                   const LanguageModel& model, int64_t runId,
                                                   int cluster, double fraction,
                                                   int maxChunks = 0);

/// Scores every chosen expert on the held-out chunks of its own cluster (the split its job
/// used) and the base on the same chunks. Throws moin::Error if the run has no trained expert.
std::vector<ExpertEvaluation>
evaluateExperts(Workspace& workspace, const EvaluationOptions& options,
                const std::function<void(int done, int total)>& onProgress = {},
                const CancelToken* cancel = nullptr);

} // namespace moin
