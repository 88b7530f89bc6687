#pragma once
// Document vectors for clustering and routing. Two embedders: tf-idf -> truncated SVD -> L2
// normalisation (c-BTM's recipe; needs no model), and mean-pooled final hidden states of the base
// model. A fitted embedder is saved with its clustering run so that a query is embedded exactly
// as the chunks were.
#include "moin/cancel.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace moin {

class LanguageModel;

/// How to build an embedder.
struct EmbedderOptions {
    /// "tfidf" (tf-idf + truncated SVD) or "model" (mean-pooled base-model hidden states).
    std::string kind = "tfidf";
    /// tfidf: SVD dimensions (c-BTM uses 100). Default 128.
    int dimensions = 128;
    /// tfidf: words kept in the vocabulary, most frequent first. Default 50,000.
    int maxVocabulary = 50000;
    /// tfidf: a word must occur in at least this many chunks. Default 2.
    int minDocumentFrequency = 2;
    /// tfidf: words in more than this fraction of chunks are dropped. Default 0.5.
    double maxDocumentFraction = 0.5;
    /// tfidf: power iterations of the randomized SVD. Default 4.
    int powerIterations = 4;
    /// model: chunks per forward pass at most (chunks of similar length go together, and a
    /// pass also stops at 16,384 tokens). Default 64.
    int batchSize = 64;
    /// model: "auto" (bf16 mixed precision where the hardware runs it fast, else fp32),
    /// "fp32" or "bf16"; see precision.h. bf16 vectors agree with fp32 ones to a cosine
    /// similarity of 0.99 or more per chunk.
    std::string precision = "auto";
    uint64_t seed = 42;

    void validate() const;
};

/// A fitted embedder. embed() is thread-compatible (const).
class Embedder {
public:
    virtual ~Embedder() = default;
    virtual std::string kind() const = 0;
    virtual int dimensions() const = 0;
    /// Writes texts.size() rows of dimensions() floats, each L2-normalised, to `out`.
    virtual void embed(const std::vector<std::string>& texts, float* out) const = 0;
    /// Saves what embed() needs into `directory` (created if missing), atomically per file.
    virtual void save(const std::string& directory) const = 0;

    /// Fits an embedder on `texts` (tfidf: vocabulary, idf, SVD; model: nothing to fit).
    /// `model` is required for kind "model" and must outlive the embedder.
    static std::unique_ptr<Embedder> fit(const std::vector<std::string>& texts,
                                         const EmbedderOptions& options,
                                         const LanguageModel* model = nullptr,
                                         const std::function<void(double)>& onProgress = {},
                                         const CancelToken* cancel = nullptr);
    /// Loads a saved embedder; `model` as for fit().
    static std::unique_ptr<Embedder> load(const std::string& directory,
                                          const LanguageModel* model = nullptr);
};

/// Lower-case word tokens of `text` (letters and digits; 2+ characters; English stop words
/// removed): the terms of tf-idf and of cluster keywords.
std::vector<std::string> keywordTokens(const std::string& text);

} // namespace moin
