#pragma once
// A sentencepiece tokenizer (the format of Llama's `tokenizer.model`), usable in the same process
// as LibTorch. sentencepiece itself lives in an isolated shared library loaded at run time.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moin {

/// Options for training a new sentencepiece model from plain-text files.
struct TokenizerTrainOptions {
    /// UTF-8 text files, one sentence or paragraph per line. At least one.
    std::vector<std::string> inputFiles;
    /// Output prefix: writes `<prefix>.model` and `<prefix>.vocab`.
    std::string modelPrefix;
    /// Number of pieces in the vocabulary, special tokens included. Default 8000.
    int vocabSize = 8000;
    /// "bpe" (Llama's choice) or "unigram". Default "bpe".
    std::string modelType = "bpe";
    /// Fraction of characters the vocabulary must cover; the rest map to byte pieces. 0.9995.
    double characterCoverage = 0.9995;
    /// Lines sampled from the input for training; 0 uses every line. Default 2,000,000.
    int64_t inputSentenceSize = 2000000;
    /// Split digits into single-digit pieces and fall back to bytes for unknown characters,
    /// as Llama's tokenizer does. Default true.
    bool llamaStyle = true;
};

/// A loaded sentencepiece model. Cheap to copy (shares the loaded model); thread-safe for
/// concurrent encode/decode.
class Tokenizer {
public:
    /// Loads `<path>` (a sentencepiece `.model`, e.g. a Llama checkpoint's tokenizer.model).
    static Tokenizer load(const std::string& modelPath);
    /// Trains a new model (see TokenizerTrainOptions) and returns the path of the `.model` file.
    static std::string train(const TokenizerTrainOptions& options);
    /// Where the isolated sentencepiece library was loaded from (loads it if needed).
    static std::string backendPath();

    /// Token ids of UTF-8 `text`, without BOS/EOS (the caller adds them as its model wants).
    std::vector<int32_t> encode(std::string_view text) const;
    /// UTF-8 text of `ids`; throws moin::Error for an id outside the vocabulary.
    std::string decode(const std::vector<int32_t>& ids) const;

    int vocabSize() const;
    /// Special token ids; -1 where the model defines none.
    int bosId() const;
    int eosId() const;
    int unkId() const;
    int padId() const;
    /// The piece string of `id` (e.g. "▁the"); throws moin::Error for an id out of range.
    std::string idToPiece(int id) const;
    /// The id of `piece`, or unkId() if the vocabulary does not have it.
    int pieceToId(const std::string& piece) const;
    /// The file this tokenizer was loaded from.
    const std::string& modelPath() const;

private:
    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

} // namespace moin
