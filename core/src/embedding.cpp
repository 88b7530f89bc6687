// Embedders: tf-idf + randomized truncated SVD (c-BTM), and mean-pooled base-model states.
#include "moin/embedding.h"

#include "llama.h"
#include "torch_io.h"

#include "moin/atomicfile.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/precision.h"
#include "moin/safetensors.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

namespace fs = std::filesystem;

namespace moin {

using json = nlohmann::json;

namespace {

const std::unordered_set<std::string>& stopWords()
{
    // English function words: they carry no topic, and would dominate keywords.
    static const std::unordered_set<std::string> words = {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
        "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
        "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
        "during", "each", "even", "ever", "every", "few", "for", "from", "further", "had",
        "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself",
        "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "let",
        "may", "me", "might", "more", "most", "much", "must", "my", "myself", "no", "nor",
        "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
        "ourselves", "out", "over", "own", "same", "say", "said", "shall", "she", "should",
        "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves",
        "then", "there", "these", "they", "this", "those", "through", "thus", "to", "too",
        "under", "until", "up", "upon", "us", "used", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with",
        "would", "yet", "you", "your", "yours", "yourself", "yourselves", "unto", "thee",
        "thou", "thy", "ye", "hath", "shalt", "also", "see", "e", "g", "etc", "two", "three",
        "well", "like", "many", "however", "use", "two", "within", "without"};
    return words;
}

int64_t checkedCount(size_t n) { return static_cast<int64_t>(n); }

// ---- tf-idf + SVD ----

class TfidfEmbedder final : public Embedder {
public:
    std::unordered_map<std::string, int64_t> vocabulary; // word -> column
    std::vector<std::string> words;                       // column -> word
    torch::Tensor idf;                                    // (V) float32
    torch::Tensor components;                             // (d, V) float32

    std::string kind() const override { return "tfidf"; }
    int dimensions() const override { return int(components.size(0)); }

    // Sublinear tf * idf, L2-normalised (scikit-learn's TfidfVectorizer(sublinear_tf=True)).
    void row(const std::string& text, std::vector<std::pair<int64_t, float>>& out) const
    {
        std::unordered_map<int64_t, int> counts;
        for (const std::string& token : keywordTokens(text)) {
            const auto it = vocabulary.find(token);
            if (it != vocabulary.end())
                ++counts[it->second];
        }
        out.clear();
        const float* idfData = idf.data_ptr<float>();
        double norm = 0;
        for (const auto& [column, count] : counts) {
            const float value = float((1.0 + std::log(double(count))) * idfData[column]);
            out.emplace_back(column, value);
            norm += double(value) * value;
        }
        const float scale = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.f;
        for (auto& entry : out)
            entry.second *= scale;
    }

    void embed(const std::vector<std::string>& texts, float* out) const override
    {
        const int64_t d = dimensions();
        const float* c = components.data_ptr<float>(); // (d, V)
        const int64_t V = components.size(1);
        at::parallel_for(0, checkedCount(texts.size()), 16, [&](int64_t begin, int64_t end) {
            std::vector<std::pair<int64_t, float>> sparse;
            for (int64_t i = begin; i < end; ++i) {
                row(texts[size_t(i)], sparse);
                float* y = out + i * d;
                double norm = 0;
                for (int64_t k = 0; k < d; ++k) {
                    double sum = 0;
                    for (const auto& [column, value] : sparse)
                        sum += double(value) * c[k * V + column];
                    y[k] = float(sum);
                    norm += sum * sum;
                }
                const float scale = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.f;
                for (int64_t k = 0; k < d; ++k)
                    y[k] *= scale;
            }
        });
    }

    void save(const std::string& directory) const override
    {
        fs::create_directories(directory);
        SafetensorsWriter writer;
        addTensor(writer, "idf", idf);
        addTensor(writer, "components", components);
        writer.write((fs::path(directory) / "tfidf.safetensors").string());
        const json state = {{"kind", "tfidf"}, {"dimensions", dimensions()}, {"words", words}};
        writeFileAtomically((fs::path(directory) / "embedder.json").string(), state.dump());
    }
};

// Y (n, k) = X (n, V) @ B (V, k) for CSR X.
torch::Tensor sparseTimesDense(const std::vector<int64_t>& rowStart,
                               const std::vector<int64_t>& columns,
                               const std::vector<float>& values, const torch::Tensor& dense)
{
    const int64_t n = checkedCount(rowStart.size()) - 1;
    const int64_t k = dense.size(1);
    torch::Tensor out = torch::zeros({n, k});
    // LAPACK's QR hands back column-major factors: index row-major data only.
    const torch::Tensor rowMajor = dense.contiguous();
    const float* b = rowMajor.data_ptr<float>();
    float* y = out.data_ptr<float>();
    at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            for (int64_t p = rowStart[i]; p < rowStart[i + 1]; ++p) {
                const float v = values[size_t(p)];
                const float* src = b + columns[size_t(p)] * k;
                for (int64_t j = 0; j < k; ++j)
                    y[i * k + j] += v * src[j];
            }
        }
    });
    return out;
}

// Z (V, k) = X^T (V, n) @ Q (n, k); each thread accumulates into its own buffer.
torch::Tensor sparseTransposeTimesDense(const std::vector<int64_t>& rowStart,
                                        const std::vector<int64_t>& columns,
                                        const std::vector<float>& values, int64_t V,
                                        const torch::Tensor& dense)
{
    const int64_t n = checkedCount(rowStart.size()) - 1;
    const int64_t k = dense.size(1);
    const int threads = std::max(1, at::get_num_threads());
    std::vector<torch::Tensor> partial(static_cast<size_t>(threads));
    const torch::Tensor rowMajor = dense.contiguous();
    const float* q = rowMajor.data_ptr<float>();
    const int64_t perThread = (n + threads - 1) / threads;
    at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            torch::Tensor z = torch::zeros({V, k});
            float* zp = z.data_ptr<float>();
            for (int64_t i = t * perThread; i < std::min(n, (t + 1) * perThread); ++i) {
                for (int64_t p = rowStart[i]; p < rowStart[i + 1]; ++p) {
                    const float v = values[size_t(p)];
                    float* dst = zp + columns[size_t(p)] * k;
                    for (int64_t j = 0; j < k; ++j)
                        dst[j] += v * q[i * k + j];
                }
            }
            partial[size_t(t)] = z;
        }
    });
    torch::Tensor sum = torch::zeros({V, k});
    for (const torch::Tensor& z : partial) {
        if (z.defined())
            sum += z;
    }
    return sum;
}

std::unique_ptr<Embedder> fitTfidf(const std::vector<std::string>& texts,
                                   const EmbedderOptions& options,
                                   const std::function<void(double)>& onProgress,
                                   const CancelToken* cancel)
{
    auto report = [&](double fraction) {
        if (onProgress)
            onProgress(fraction);
    };
    auto cancelled = [&] { return cancel && cancel->isCancelled(); };
    const int64_t n = checkedCount(texts.size());

    // 1. Document frequencies.
    std::unordered_map<std::string, int64_t> documentFrequency;
    for (int64_t i = 0; i < n; ++i) {
        const auto tokens = keywordTokens(texts[size_t(i)]);
        for (const std::string& word : std::unordered_set<std::string>(tokens.begin(), tokens.end()))
            ++documentFrequency[word];
        if (i % 1000 == 0) {
            if (cancelled())
                return nullptr;
            report(0.2 * double(i) / double(n));
        }
    }
    std::vector<std::pair<int64_t, std::string>> kept;
    const double maxDf = options.maxDocumentFraction * double(n);
    for (const auto& [word, df] : documentFrequency) {
        if (df >= options.minDocumentFrequency && double(df) <= maxDf)
            kept.emplace_back(df, word);
    }
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (checkedCount(kept.size()) > options.maxVocabulary)
        kept.resize(size_t(options.maxVocabulary));
    if (kept.size() < 2) {
        throw Error("the corpus has only " + std::to_string(kept.size())
                    + " word(s) that occur in at least " + std::to_string(options.minDocumentFrequency)
                    + " chunks; tf-idf needs a richer corpus (hint: import more text)");
    }
    auto embedder = std::make_unique<TfidfEmbedder>();
    const int64_t V = checkedCount(kept.size());
    embedder->idf = torch::empty({V});
    float* idf = embedder->idf.data_ptr<float>();
    for (int64_t j = 0; j < V; ++j) {
        embedder->words.push_back(kept[size_t(j)].second);
        embedder->vocabulary.emplace(kept[size_t(j)].second, j);
        // Smooth idf, as scikit-learn: ln((1 + n) / (1 + df)) + 1.
        idf[j] = float(std::log((1.0 + double(n)) / (1.0 + double(kept[size_t(j)].first))) + 1.0);
    }

    // 2. The tf-idf matrix in CSR form.
    std::vector<int64_t> rowStart = {0};
    std::vector<int64_t> columns;
    std::vector<float> values;
    std::vector<std::pair<int64_t, float>> sparse;
    for (int64_t i = 0; i < n; ++i) {
        embedder->row(texts[size_t(i)], sparse);
        for (const auto& [column, value] : sparse) {
            columns.push_back(column);
            values.push_back(value);
        }
        rowStart.push_back(checkedCount(columns.size()));
        if (i % 1000 == 0) {
            if (cancelled())
                return nullptr;
            report(0.2 + 0.2 * double(i) / double(n));
        }
    }

    // 3. Randomized truncated SVD (Halko, Martinsson & Tropp 2011) of the n x V matrix.
    const int64_t d = std::min<int64_t>({options.dimensions, V - 1, n - 1});
    if (d < 2)
        throw Error("tf-idf needs at least 3 chunks and 3 vocabulary words to embed");
    const int64_t k = std::min<int64_t>(d + 10, std::min(V, n));
    torch::manual_seed(int64_t(options.seed));
    torch::Tensor omega = torch::randn({V, k});
    torch::Tensor Q = std::get<0>(torch::linalg::qr(sparseTimesDense(rowStart, columns, values,
                                                                      omega)));
    for (int i = 0; i < options.powerIterations; ++i) {
        if (cancelled())
            return nullptr;
        const torch::Tensor Z =
            std::get<0>(torch::linalg::qr(sparseTransposeTimesDense(rowStart, columns, values, V, Q)));
        Q = std::get<0>(torch::linalg::qr(sparseTimesDense(rowStart, columns, values, Z)));
        report(0.4 + 0.5 * double(i + 1) / double(options.powerIterations));
    }
    const torch::Tensor B = sparseTransposeTimesDense(rowStart, columns, values, V, Q).t(); // (k, V)
    const auto [U, S, Vh] = torch::linalg::svd(B, /*full_matrices=*/false, c10::nullopt);
    embedder->components = Vh.narrow(0, 0, d).contiguous(); // (d, V)
    report(1.0);
    return embedder;
}

// ---- mean-pooled hidden states ----

class ModelEmbedder final : public Embedder {
public:
    ModelEmbedder(const LanguageModel& model, int batchSize, Precision precision)
        : m_model(model), m_batch(batchSize), m_precision(precision)
    {
    }
    std::string kind() const override { return "model"; }
    int dimensions() const override { return int(m_model.config().hiddenSize); }

    void embed(const std::vector<std::string>& texts, float* out) const override
    {
        // Padded tokens per forward pass at most: bounds the (rows, heads, T, T) attention
        // scores of long chunks while short ones still fill a pass.
        constexpr int64_t kTokensPerPass = 16384;
        LlamaImpl& llama = *m_model.impl().model;
        const LlamaConfig& config = m_model.config();
        const Tokenizer& tokenizer = m_model.tokenizer();
        const int64_t H = dimensions();
        const int64_t n = checkedCount(texts.size());

        // 1. Token ids, BOS first, cut at the context (sentencepiece encodes concurrently).
        std::vector<std::vector<int32_t>> ids(texts.size());
        at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                std::vector<int32_t>& row = ids[size_t(i)];
                row.push_back(int32_t(config.bosTokenId));
                const std::vector<int32_t> body = tokenizer.encode(texts[size_t(i)]);
                row.insert(row.end(), body.begin(),
                           body.begin() + std::min<int64_t>(checkedCount(body.size()),
                                                            config.maxPositions - 1));
            }
        });
        // 2. Longest first: a pass holds chunks of nearly one length, so it pads little (and
        // the biggest pass comes first, so memory peaks at once).
        std::vector<int64_t> order(texts.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            return ids[size_t(a)].size() > ids[size_t(b)].size();
        });

        torch::InferenceMode inference;
        const std::string device = m_model.device();
        const PrecisionScope precision(resolvePrecision(m_precision, device), device);
        for (size_t first = 0; first < order.size();) {
            const int64_t longest = checkedCount(ids[size_t(order[first])].size());
            const int64_t rows = std::min<int64_t>(
                {checkedCount(order.size() - first), m_batch,
                 std::max<int64_t>(1, kTokensPerPass / longest)});
            // Right padding changes nothing: causal attention keeps every real position from
            // seeing it, and the mean below covers real positions only. Filled through raw
            // pointers: per-element tensor indexing costs a dispatch each.
            torch::Tensor tokens =
                torch::full({rows, longest}, int64_t(config.eosTokenId), torch::kLong);
            torch::Tensor mask = torch::zeros({rows, longest, 1}); // 1 at real positions
            int64_t* tokenData = tokens.data_ptr<int64_t>();
            float* maskData = mask.data_ptr<float>();
            for (int64_t b = 0; b < rows; ++b) {
                const std::vector<int32_t>& row = ids[size_t(order[first + size_t(b)])];
                for (size_t t = 0; t < row.size(); ++t) {
                    tokenData[b * longest + int64_t(t)] = row[t];
                    maskData[b * longest + int64_t(t)] = 1.f;
                }
            }
            const torch::Tensor hidden = llama.hidden(tokens.to(llama.deviceOf()))
                                             .to(torch::kCPU, torch::kFloat32); // (B, T, H)
            torch::Tensor pooled = (hidden * mask).sum(1) / mask.sum(1);      // (B, H)
            pooled = torch::nn::functional::normalize(
                         pooled, torch::nn::functional::NormalizeFuncOptions().dim(1))
                         .contiguous();
            const float* pooledData = pooled.data_ptr<float>();
            for (int64_t b = 0; b < rows; ++b) {
                std::memcpy(out + order[first + size_t(b)] * H, pooledData + b * H,
                            sizeof(float) * size_t(H));
            }
            first += size_t(rows);
        }
    }

    void save(const std::string& directory) const override
    {
        fs::create_directories(directory);
        // The requested precision: a query is embedded as auto picks on the machine that
        // routes it (bf16 and fp32 vectors agree to a cosine similarity of 0.99 or more).
        const json state = {{"kind", "model"},
                            {"dimensions", dimensions()},
                            {"batch_size", m_batch},
                            {"precision", precisionName(m_precision)},
                            {"base_model", m_model.directory()}};
        writeFileAtomically((fs::path(directory) / "embedder.json").string(), state.dump(2));
    }

private:
    const LanguageModel& m_model;
    int m_batch;
    Precision m_precision;
};

} // namespace

void EmbedderOptions::validate() const
{
    if (kind != "tfidf" && kind != "model")
        throw Error("unknown embedder '" + kind + "'; use 'tfidf' or 'model'");
    if (dimensions < 2 || dimensions > 4096)
        throw Error("embedding dimensions must be between 2 and 4096; got "
                    + std::to_string(dimensions));
    if (maxVocabulary < 2)
        throw Error("the tf-idf vocabulary must hold at least 2 words");
    if (minDocumentFrequency < 1)
        throw Error("the minimum document frequency must be at least 1");
    if (!(maxDocumentFraction > 0 && maxDocumentFraction <= 1))
        throw Error("the maximum document fraction must be in (0, 1]");
    if (powerIterations < 0 || powerIterations > 20)
        throw Error("power iterations must be between 0 and 20");
    if (batchSize < 1)
        throw Error("the embedding batch size must be positive");
    parsePrecision(precision);
}

std::unique_ptr<Embedder> Embedder::fit(const std::vector<std::string>& texts,
                                        const EmbedderOptions& options,
                                        const LanguageModel* model,
                                        const std::function<void(double)>& onProgress,
                                        const CancelToken* cancel)
{
    options.validate();
    if (texts.size() < 3)
        throw Error("embedding needs at least 3 chunks; got " + std::to_string(texts.size()));
    if (options.kind == "tfidf")
        return fitTfidf(texts, options, onProgress, cancel);
    if (!model)
        throw Error("the 'model' embedder needs the base model");
    model->tokenizer(); // throws a clear error if the model has none
    return std::make_unique<ModelEmbedder>(*model, options.batchSize,
                                           parsePrecision(options.precision));
}

std::unique_ptr<Embedder> Embedder::load(const std::string& directory, const LanguageModel* model)
{
    const fs::path dir(directory);
    const json state = [&] {
        try {
            return json::parse(readFile((dir / "embedder.json").string()));
        } catch (const json::exception& e) {
            throw Error((dir / "embedder.json").string() + " is not valid JSON: " + e.what());
        }
    }();
    const std::string kind = state.value("kind", "");
    if (kind == "model") {
        if (!model)
            throw Error("the embedder in " + directory + " needs the base model");
        if (state.value("dimensions", 0) != int(model->config().hiddenSize)) {
            throw Error("the embedder in " + directory + " was made with another base model ("
                        + std::to_string(state.value("dimensions", 0)) + " dimensions)");
        }
        return std::make_unique<ModelEmbedder>(
            *model, state.value("batch_size", 16),
            parsePrecision(state.value("precision", std::string("auto"))));
    }
    if (kind != "tfidf")
        throw Error(directory + " holds no known embedder (kind '" + kind + "')");
    auto embedder = std::make_unique<TfidfEmbedder>();
    embedder->words = state.at("words").get<std::vector<std::string>>();
    for (size_t j = 0; j < embedder->words.size(); ++j)
        embedder->vocabulary.emplace(embedder->words[j], int64_t(j));
    const SafetensorsFile file = SafetensorsFile::open((dir / "tfidf.safetensors").string());
    const TensorInfo* idf = file.find("idf");
    const TensorInfo* components = file.find("components");
    if (!idf || !components || idf->shape.size() != 1
        || idf->shape[0] != checkedCount(embedder->words.size()) || components->shape.size() != 2
        || components->shape[1] != idf->shape[0]) {
        throw Error(directory + ": tfidf.safetensors does not match embedder.json "
                                "(hint: the run's files are damaged; cluster again)");
    }
    embedder->idf = tensorView(file, *idf).clone();
    embedder->components = tensorView(file, *components).clone();
    return embedder;
}

namespace {

// Lower case for the scripts a keyword list meets most: Latin-1, Latin Extended-A, Greek,
// Cyrillic. Other characters are kept as they are.
void appendLowercase(std::string& out, uint32_t code)
{
    if ((code >= 0xC0 && code <= 0xDE && code != 0xD7) || (code >= 0x391 && code <= 0x3AB)
        || (code >= 0x410 && code <= 0x42F))
        code += 0x20;
    else if (code >= 0x400 && code <= 0x40F)
        code += 0x50;
    else if (code >= 0x100 && code <= 0x17F && code % 2 == 0 && code != 0x130 && code != 0x138)
        code += 1;
    if (code < 0x800) {
        out += char(0xC0 | (code >> 6));
        out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += char(0xE0 | (code >> 12));
        out += char(0x80 | ((code >> 6) & 0x3F));
        out += char(0x80 | (code & 0x3F));
    } else {
        out += char(0xF0 | (code >> 18));
        out += char(0x80 | ((code >> 12) & 0x3F));
        out += char(0x80 | ((code >> 6) & 0x3F));
        out += char(0x80 | (code & 0x3F));
    }
}

} // namespace

std::vector<std::string> keywordTokens(const std::string& text)
{
    std::vector<std::string> tokens;
    std::string word;
    auto flush = [&] {
        const bool digits = std::all_of(word.begin(), word.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
        if (word.size() >= 2 && !digits && !stopWords().count(word))
            tokens.push_back(word);
        word.clear();
    };
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            if (std::isalnum(c))
                word += char(std::tolower(c));
            else if (c != '\'' || word.empty()) // "don't" -> "dont", "God's" -> "gods"
                flush();
            ++i;
            continue;
        }
        // A multi-byte UTF-8 character: part of a word if it is a letter, not punctuation or a
        // symbol (curly quotes, dashes, CJK punctuation, x and / signs...).
        const size_t length = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        uint32_t code = length == 1 ? c : c & (0x7F >> length);
        for (size_t k = 1; k < length && i + k < n; ++k)
            code = (code << 6) | (s[i + k] & 0x3F);
        const bool letter = code >= 0xC0 && code != 0xD7 && code != 0xF7
                            && !(code >= 0x2000 && code <= 0x2BFF)
                            && !(code >= 0x3000 && code <= 0x303F)
                            && !(code >= 0xFE30 && code <= 0xFE4F)
                            && !(code >= 0xFF00 && code <= 0xFF0F);
        if (letter)
            appendLowercase(word, code);
        else
            flush();
        i += length;
    }
    flush();
    return tokens;
}

} // namespace moin
