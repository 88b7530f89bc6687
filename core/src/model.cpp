// LanguageModel: loading and saving Hugging Face folders, logits and perplexity.
#include "llama.h"
#include "torch_io.h"

#include "moin/atomicfile.h"
#include "moin/device.h"
#include "moin/error.h"
#include "moin/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace moin {

namespace {

std::string shapeText(at::IntArrayRef shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

torch::ScalarType computeDtype(const ModelLoadOptions& options, const LlamaConfig& config,
                               const std::string& device)
{
    if (options.dtype != "auto")
        return parseTorchDtype(options.dtype);
    // Half precision on the CPU is slower than float32 and loses accuracy: keep float32 there.
    return device == "cpu" ? torch::kFloat32 : parseTorchDtype(config.torchDtype);
}

void initRandom(LlamaImpl& model, uint64_t seed)
{
    torch::NoGradGuard noGrad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    // Residual projections start smaller so that deep stacks keep unit-scale activations.
    const double residualStd = 0.02 / std::sqrt(2.0 * double(model.config.numLayers));
    for (auto& [name, weight] : model.namedWeights()) {
        if (name.find("norm") != std::string::npos) {
            weight.fill_(1.0);
            continue;
        }
        const bool residual = name.find("o_proj") != std::string::npos
                              || name.find("down_proj") != std::string::npos;
        weight.normal_(0.0, residual ? residualStd : 0.02, generator);
    }
}

} // namespace

LanguageModel::LanguageModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
LanguageModel::LanguageModel(LanguageModel&&) noexcept = default;
LanguageModel& LanguageModel::operator=(LanguageModel&&) noexcept = default;
LanguageModel::~LanguageModel() = default;

LanguageModel LanguageModel::random(const LlamaConfig& config, uint64_t seed,
                                    const ModelLoadOptions& options)
{
    auto impl = std::make_unique<Impl>();
    impl->model = Llama(config);
    initRandom(*impl->model, seed);
    const std::string device = resolveDevice(options.device);
    impl->model->place(torch::Device(device), computeDtype(options, config, device));
    impl->model->eval();
    return LanguageModel(std::move(impl));
}

LanguageModel LanguageModel::load(const std::string& directory, const ModelLoadOptions& options)
{
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) {
        throw Error("model folder " + directory
                    + " does not exist (expected a Hugging Face folder with config.json and "
                      "model.safetensors)");
    }
    const fs::path dir(directory);
    if (!fs::exists(dir / "config.json", ec)) {
        throw Error("model folder " + directory
                    + " has no config.json (expected a Hugging Face Llama checkpoint folder)");
    }
    const LlamaConfig config = LlamaConfig::load((dir / "config.json").string());
    const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open(directory);

    auto impl = std::make_unique<Impl>();
    impl->directory = fs::absolute(dir).lexically_normal().string();
    impl->model = Llama(config);
    {
        torch::NoGradGuard noGrad;
        for (auto& [name, weight] : impl->model->namedWeights()) {
            const CheckpointTensor found = checkpoint.find(name);
            if (!found) {
                throw Error("model weight '" + name + "' is missing from " + directory
                            + " (hint: is this a Llama checkpoint, and does config.json "
                              "match its weights?)");
            }
            if (found.info->shape != std::vector<int64_t>(weight.sizes().begin(),
                                                          weight.sizes().end())) {
                throw Error("model weight '" + name + "' in " + found.file->path()
                            + " has shape " + shapeText(found.info->shape)
                            + "; config.json implies " + shapeText(weight.sizes())
                            + " (hint: config.json and the weights disagree)");
            }
            weight.copy_(tensorView(*found.file, *found.info));
        }
    }
    const std::string device = resolveDevice(options.device);
    impl->model->place(torch::Device(device), computeDtype(options, config, device));
    impl->model->eval();
    if (options.loadTokenizer && fs::exists(dir / "tokenizer.model", ec))
        impl->tokenizer = Tokenizer::load((dir / "tokenizer.model").string());
    return LanguageModel(std::move(impl));
}

void LanguageModel::save(const std::string& directory, const std::string& dtype) const
{
    const torch::ScalarType type = parseTorchDtype(dtype);
    std::error_code ec;
    fs::create_directories(directory, ec);
    if (ec)
        throw Error("cannot create model folder " + directory + ": " + ec.message());
    const fs::path dir(directory);

    LlamaConfig config = m_impl->model->config;
    config.torchDtype = dtype;
    SafetensorsWriter writer;
    std::vector<torch::Tensor> keepAlive; // the writer borrows their memory until write()
    for (const auto& [name, weight] : m_impl->model->namedWeights()) {
        keepAlive.push_back(weight.detach().to(torch::kCPU, type).contiguous());
        addTensor(writer, name, keepAlive.back());
    }
    writer.setMetadata({{"format", "pt"}});
    writer.write((dir / "model.safetensors").string());
    writeFileAtomically((dir / "config.json").string(), config.toJson());
    const nlohmann::json generation = {{"bos_token_id", config.bosTokenId},
                                       {"eos_token_id", config.eosTokenId},
                                       {"_from_model_config", true}};
    writeFileAtomically((dir / "generation_config.json").string(), generation.dump(2) + "\n");
    if (m_impl->tokenizer) {
        const fs::path target = dir / "tokenizer.model";
        if (!fs::equivalent(m_impl->tokenizer->modelPath(), target, ec))
            copyFileAtomically(m_impl->tokenizer->modelPath(), target.string());
    }
}

const LlamaConfig& LanguageModel::config() const { return m_impl->model->config; }
const std::string& LanguageModel::directory() const { return m_impl->directory; }
std::string LanguageModel::device() const { return m_impl->model->deviceOf().str(); }
bool LanguageModel::hasTokenizer() const { return m_impl->tokenizer.has_value(); }

const Tokenizer& LanguageModel::tokenizer() const
{
    if (!m_impl->tokenizer) {
        throw Error("the model " + (m_impl->directory.empty() ? "" : m_impl->directory + " ")
                    + "has no tokenizer (hint: put its tokenizer.model in the model folder)");
    }
    return *m_impl->tokenizer;
}

void LanguageModel::setTokenizer(const Tokenizer& tokenizer)
{
    if (tokenizer.vocabSize() > config().vocabSize) {
        throw Error("the tokenizer has " + std::to_string(tokenizer.vocabSize())
                    + " pieces but the model only " + std::to_string(config().vocabSize)
                    + " embeddings");
    }
    m_impl->tokenizer = tokenizer;
}

std::vector<float> LanguageModel::logits(const std::vector<int32_t>& tokens) const
{
    if (tokens.empty())
        throw Error("cannot compute logits of an empty token sequence");
    for (int32_t token : tokens) {
        if (token < 0 || token >= config().vocabSize) {
            throw Error("token id " + std::to_string(token) + " is outside the vocabulary [0, "
                        + std::to_string(config().vocabSize) + ")");
        }
    }
    torch::InferenceMode guard;
    LlamaImpl& model = *m_impl->model;
    const torch::Tensor input =
        torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), torch::kLong)
            .view({1, -1})
            .to(model.deviceOf());
    const torch::Tensor out = model.forward(input).squeeze(0).to(torch::kCPU, torch::kFloat32)
                                  .contiguous();
    return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
}

PerplexityResult LanguageModel::perplexityOfTokens(const std::vector<int32_t>& tokens) const
{
    if (tokens.size() < 2)
        throw Error("perplexity needs at least two tokens (BOS and one more); got "
                    + std::to_string(tokens.size()));
    torch::InferenceMode guard;
    LlamaImpl& model = *m_impl->model;
    const int64_t window = model.config.maxPositions;
    const int64_t n = static_cast<int64_t>(tokens.size());
    const torch::Tensor all =
        torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), torch::kLong);
    double totalNll = 0;
    int64_t scored = 0;
    // Windows overlap by one token: each window's first token is context for its second.
    for (int64_t start = 0; start < n - 1; start += window - 1) {
        const int64_t length = std::min(window, n - start);
        const torch::Tensor chunk = all.narrow(0, start, length).to(model.deviceOf());
        const torch::Tensor logits =
            model.forward(chunk.narrow(0, 0, length - 1).view({1, -1})).squeeze(0);
        totalNll += torch::nn::functional::cross_entropy(
                        logits.to(torch::kFloat32), chunk.narrow(0, 1, length - 1),
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        scored += length - 1;
    }
    PerplexityResult result;
    result.tokens = scored;
    result.meanNll = totalNll / double(scored);
    result.perplexity = std::exp(result.meanNll);
    return result;
}

PerplexityResult LanguageModel::perplexity(const std::string& text) const
{
    std::vector<int32_t> tokens = {config().bosTokenId};
    const std::vector<int32_t> body = tokenizer().encode(text);
    if (body.empty())
        throw Error("cannot compute perplexity of an empty text");
    tokens.insert(tokens.end(), body.begin(), body.end());
    return perplexityOfTokens(tokens);
}

} // namespace moin
