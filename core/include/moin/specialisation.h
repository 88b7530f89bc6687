#pragma once
// Do the experts specialise? Every trained expert of a run scored on every cluster's held-out
// chunks (and the base on each): the expert x cluster perplexity matrix, each expert's
// specialisation margin, and the likely cause when an expert helps another cluster more than
// its own. Results are kept in the workspace and reused until an adapter or the run changes.
#include "moin/cancel.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace moin {

class Workspace;

struct SpecialisationOptions {
    /// Clustering run; 0 = the active run.
    int64_t runId = 0;
    /// With more clusters than this (at least 1), each expert is scored on its own cluster, its
    /// `nearest` nearest clusters by centroid and `random` others chosen with `seed`, so that
    /// the cost grows with the experts, not experts x clusters.
    int maxClusters = 32;
    int nearest = 8;
    int random = 8;
    uint64_t seed = 1;
    /// Held-out chunks scored per cluster at most (0 = all).
    int maxChunks = 0;
    std::string device = "auto";
    /// Score what the workspace does not hold yet (false: only read what it holds).
    bool compute = true;
};

/// One expert's row of the matrix.
struct ExpertSpecialisation {
    int expert = 0;
    /// Perplexity on each cluster it was scored on (with sampling, a subset of the clusters).
    std::map<int, double> perplexity;
    /// With sampling: the clusters chosen as nearest (nearest first) and at random.
    std::vector<int> nearest;
    std::vector<int> random;
    /// Relative reduction (1 - expert / base perplexity) on its own cluster, the best one on
    /// any other scored cluster and where; margin = own - best other (NaN when not known).
    double ownReduction = 0;
    double bestOtherReduction = 0;
    int bestOtherCluster = -1;
    double margin = 0;
};

/// The matrix of one run.
struct SpecialisationMatrix {
    int64_t runId = 0;
    /// Clusters scored (with held-out chunks), ascending.
    std::vector<int> clusters;
    std::map<int, double> basePerplexity;
    std::vector<ExpertSpecialisation> experts;
    /// Whether experts were scored on a sample of the clusters (see SpecialisationOptions).
    bool sampled = false;
    /// Perplexities (base and expert cells) computed now and read from the workspace.
    int computedCells = 0;
    int storedCells = 0;
    /// Cells not known (compute = false, or cancelled before them).
    int missingCells = 0;
    bool cancelled = false;
    /// True when every cell is known.
    bool complete() const { return missingCells == 0 && !cancelled; }
};

/// 1 - expert / base: the fraction of the base's perplexity the expert removes.
double relativeReduction(double basePerplexity, double expertPerplexity);

/// Scores (or reads back) the matrix of a run. The base model is loaded once and each expert's
/// adapter goes on and off it; the held-out chunks are exactly those the training held out
/// (see evaluation.h). Cells computed are stored in one transaction, keyed on the run, the
/// adapter file (path, size, modification time) and the held-out split, so that a retrained
/// expert or another base is scored again. `onProgress(done, total)` counts perplexities to
/// compute. Cancelled, it stores and returns the cells computed so far (cancelled = true).
/// Throws moin::Error, writing nothing, for maxClusters < 1, a workspace without a clustering
/// run, a run without a trained expert, and a run without held-out chunks.
SpecialisationMatrix
computeSpecialisation(Workspace& workspace, const SpecialisationOptions& options,
                      const std::function<void(int done, int total)>& onProgress = {},
                      const CancelToken* cancel = nullptr);

/// Why an expert's margin may be negative, with the figures that show it.
struct SpecialisationCause {
    enum class Kind {
        /// Its training saw its cluster's training text `epochs` times (< 1): too few steps
        /// for the cluster's size; it learned the corpus's common style first.
        TooFewSteps,
        /// `fraction` of its cluster's points lie nearer to `otherCluster`'s centre on the map
        /// than to their own: the two groups overlap.
        Overlap,
        /// The cluster has `chunks` chunks against a median of `medianChunks`: too little text
        /// to learn from.
        TooSmall,
        /// None of the above: it helps `otherCluster` about as much as its own group.
        SharedStyle,
    };
    Kind kind = Kind::SharedStyle;
    int otherCluster = -1;
    double epochs = 0;
    double fraction = 0;
    int64_t chunks = 0;
    int64_t medianChunks = 0;
};

/// An expert with a negative margin and the likely causes (most telling first).
struct SpecialisationAdvice {
    int expert = 0;
    double margin = 0;
    int bestOtherCluster = -1;
    std::vector<SpecialisationCause> causes;
};

/// Advice for every expert of `matrix` whose margin is negative (reads the run's clusters, map
/// and training specs).
std::vector<SpecialisationAdvice> adviseSpecialisation(Workspace& workspace,
                                                       const SpecialisationMatrix& matrix);

/// One English sentence for a cause ("trained on 0.2 epochs of its cluster: ...").
std::string describeCause(const SpecialisationCause& cause);

/// The clusters in an order where neighbours (by centroid) sit together: a nearest-neighbour
/// chain from the cluster farthest from the others' mean. `centroids` is the run's, row-major
/// (k, dimensions), row = cluster id (readRunCentroids); clusters without a row go last.
std::vector<int> neighbourOrder(const std::vector<int>& clusters,
                                const std::vector<float>& centroids, int64_t dimensions);

} // namespace moin
