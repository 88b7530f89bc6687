#pragma once
// Semantic groups: FAISS k-means (optionally balanced), class-based tf-idf keywords, and the
// clustering runs a workspace keeps (parameters, clusters, per-chunk assignment and 2-D layout).
#include "moin/cancel.h"
#include "moin/embedding.h"
#include "moin/hdbscan.h"
#include "moin/layout.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moin {

class LanguageModel;
class Workspace;

/// k-means settings.
struct KMeansOptions {
    /// Number of clusters, 2 or more (the paper's MoIN-5k uses 5,000). Default 8.
    int k = 8;
    /// Lloyd iterations. Default 25.
    int iterations = 25;
    /// Independent k-means runs from different initial centroids (seeds seed, seed + 1, ...);
    /// the lowest objective is kept. Default 1.
    int restarts = 1;
    /// Start from k-means++ seeds (kmeansPlusPlus on a sample of min(n, max(32 k, 4096))
    /// points), at every k. False starts from k random points, FAISS's own start: worse, kept
    /// for comparison. Default true.
    bool kmeansPlusPlus = true;
    /// Seed of the initial centroids. Default 1234.
    uint64_t seed = 1234;
    /// Keep every cluster's size at most maxClusterSizeFactor * n / k (c-BTM's balanced
    /// k-means). Default false.
    bool balanced = false;
    /// Bound of the balanced mode, relative to the mean cluster size; at least 1. Default 1.5.
    double maxClusterSizeFactor = 1.5;
    /// Rounds of capacity-bounded assignment and centroid update in balanced mode. Default 8.
    int balancedIterations = 8;

    void validate() const;
};

/// What k-means found for n points of d dimensions.
struct KMeansResult {
    /// (k, d) row-major.
    std::vector<float> centroids;
    /// (n) cluster of each point.
    std::vector<int32_t> assignment;
    /// (n) squared L2 distance of each point to its cluster's centroid.
    std::vector<float> distances;
    /// (k) points per cluster (a cluster may be empty: k-means keeps k centroids regardless).
    std::vector<int64_t> sizes;
    /// Mean squared distance to the assigned centroid.
    double objective = 0;
};

/// Clusters `points` (row-major (n, d), checked for NaN/Inf first). Throws moin::Error for
/// n < k or bad options; returns an empty result when cancelled.
KMeansResult kmeans(const float* points, int64_t n, int64_t d, const KMeansOptions& options,
                    const std::function<void(double)>& onProgress = {},
                    const CancelToken* cancel = nullptr);

/// k-means++ seeding (Arthur & Vassilvitskii 2007) on a uniform sample of `sampleSize` of the
/// n points (all of them when sampleSize >= n): the first centre uniformly, each next one drawn
/// with probability proportional to its squared distance to the nearest centre so far. The
/// distance updates run on OpenMP's threads; the result depends only on the seed, not on the
/// thread count. Returns (k, d) row-major, or nothing when cancelled; `onProgress` gets 0..1.
std::vector<float> kmeansPlusPlus(const float* points, int64_t n, int64_t d, int k,
                                  int64_t sampleSize, uint64_t seed,
                                  const CancelToken* cancel = nullptr,
                                  const std::function<void(double)>& onProgress = {});

/// Class-based tf-idf (as BERTopic labels topics): the `top` words that set each cluster apart.
/// Returns k lists of (word, weight), best first.
std::vector<std::vector<std::pair<std::string, double>>>
clusterKeywords(const std::vector<std::string>& texts, const std::vector<int32_t>& assignment,
                int k, int top = 10);

/// Everything a clustering run does.
struct ClusterRunOptions {
    EmbedderOptions embedder;
    /// "kmeans" (kmeans.k clusters, the paper's MoIN-5k) or "hdbscan" (the paper's MoIN-500:
    /// the embeddings reduced by UMAP to reduceDimensions, then HDBSCAN; the number of clusters
    /// comes from the data). Default "kmeans".
    std::string method = "kmeans";
    KMeansOptions kmeans;
    HdbscanOptions hdbscan;
    /// HDBSCAN: dimensions UMAP reduces the embeddings to (min_dist 0, layout.neighbours
    /// neighbours, layout.seed) before clustering; 2 to 16. Embeddings with no more
    /// dimensions than this are clustered as they are. Default 8.
    int reduceDimensions = 8;
    LayoutOptions layout;
    /// Keywords kept per cluster. Default 10.
    int keywords = 10;
    /// Chunks nearest to each centroid kept as samples. Default 5.
    int samples = 5;
    /// Make the run the workspace's active one when it finishes. Default true.
    bool activate = true;

    /// Checks the method and the options it uses; throws moin::Error naming the bad value.
    void validate() const;
};

/// A phase of a run and how far along it is (0..1).
using ClusterProgress = std::function<void(const std::string& phase, double fraction)>;

/// One stored run.
struct ClusterRunInfo {
    int64_t id = 0;
    std::string createdAt;
    std::string embedder;
    int k = 0;
    bool balanced = false;
    bool active = false;
    int64_t chunks = 0;
    int dimensions = 0;
    double seconds = 0;
    /// JSON object: objective, empty clusters, trustworthiness, ... .
    std::string metrics;
    /// The options as JSON.
    std::string parameters;
};

/// One cluster of a run.
struct ClusterInfo {
    int cluster = 0;
    int64_t size = 0;
    std::vector<std::string> keywords;
    /// Chunk ids nearest the centroid, nearest first.
    std::vector<int64_t> sampleChunks;
    /// Centre of its chunks on the 2-D map.
    double x = 0;
    double y = 0;
};

/// A chunk's place in a run.
struct ChunkPlacement {
    int64_t chunkId = 0;
    int cluster = 0;
    /// L2 distance to its cluster's centroid.
    float distance = 0;
    float x = 0;
    float y = 0;
    /// HDBSCAN called the chunk noise: `cluster` is then the nearest cluster, which it trains
    /// and routes with, but the map shows it as noise.
    bool noise = false;
};

/// Embeds every chunk of the workspace (reusing the stored embeddings of an earlier run with the
/// same embedder settings and chunks), clusters, labels and lays them out, and stores the run in
/// one transaction. With HDBSCAN, chunks it calls noise are stored with their nearest cluster
/// (nearest centroid of the clustered chunks) and flagged; the centroids are then the means of
/// the final assignment. The run's metrics say how many were noise. `model` is needed for the "model" embedder (the workspace's base otherwise
/// loaded here). Returns the run id, or 0 when cancelled (nothing stored).
int64_t runClustering(Workspace& workspace, const ClusterRunOptions& options,
                      const ClusterProgress& onProgress = {}, const CancelToken* cancel = nullptr,
                      const LanguageModel* model = nullptr);

std::vector<ClusterRunInfo> listClusterRuns(Workspace& workspace);
/// The active run's id, or 0 if the workspace has none.
int64_t activeClusterRun(Workspace& workspace);
void setActiveClusterRun(Workspace& workspace, int64_t runId);
std::vector<ClusterInfo> listClusters(Workspace& workspace, int64_t runId);
std::vector<ChunkPlacement> listPlacements(Workspace& workspace, int64_t runId);
/// Folder of a run's files (embeddings, centroids, embedder).
std::string clusterRunDirectory(Workspace& workspace, int64_t runId);

/// A matrix of fp32 vectors as a run stores them (embeddings.f32, centroids.f32): the 8 bytes
/// "MOINVEC1", rows and columns as two little-endian uint64, then rows x cols little-endian
/// fp32, row-major; nothing after.
struct VectorFile {
    int64_t rows = 0;
    int64_t cols = 0;
    /// (rows, cols) row-major.
    std::vector<float> values;
};
/// The one reader of that format. Throws moin::Error naming the file, what was expected and
/// what was found, for a missing, foreign, empty-shaped, truncated or over-long file.
VectorFile readVectorFile(const std::string& path);
/// Writes one atomically.
void writeVectorFile(const std::string& path, const float* values, int64_t rows, int64_t cols);
/// The centroids of a run, (k, d): readVectorFile of its centroids.f32.
VectorFile readRunCentroids(Workspace& workspace, int64_t runId);

} // namespace moin
