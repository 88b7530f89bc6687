// Pretraining the built-in small base: tokenizer, then a Llama trained from scratch with AdamW,
// warm-up + cosine schedule, held-out evaluation and resumable checkpoints.
#include "moin/pretrain.h"

#include "llama.h"
#include "trainloop.h"

#include "moin/atomicfile.h"
#include "moin/device.h"
#include "moin/documents.h"
#include "moin/error.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace moin {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

void validate(const PretrainOptions& o)
{
    if (o.corpusFiles.empty())
        throw Error("pretraining needs at least one corpus file");
    if (o.outputDir.empty())
        throw Error("pretraining needs an output folder");
    if (o.sequenceLength < 8 || o.sequenceLength > o.model.maxPositions) {
        throw Error("sequence length must be between 8 and the context length ("
                    + std::to_string(o.model.maxPositions) + "); got "
                    + std::to_string(o.sequenceLength));
    }
    if (o.batchSize < 1)
        throw Error("batch size must be positive; got " + std::to_string(o.batchSize));
    if (o.steps < 1)
        throw Error("steps must be positive; got " + std::to_string(o.steps));
    if (!(o.learningRate > 0) || !(o.minLearningRate >= 0) || o.minLearningRate > o.learningRate)
        throw Error("learning rates must satisfy 0 <= min <= peak and peak > 0");
    if (!(o.heldOutFraction > 0 && o.heldOutFraction < 0.5))
        throw Error("held-out fraction must be in (0, 0.5); got "
                    + std::to_string(o.heldOutFraction));
    if (o.evalEvery < 1 || o.checkpointEvery < 1)
        throw Error("evaluation and checkpoint intervals must be positive");
    parseTorchDtype(o.saveDtype);
}

double learningRateAt(const PretrainOptions& o, int64_t step)
{
    return cosineLearningRate(o.learningRate, o.minLearningRate, o.warmupSteps, o.steps, step);
}

struct TokenStreams {
    std::vector<int64_t> train;
    std::vector<int64_t> heldOut;
};

TokenStreams tokenize(const PretrainOptions& o, const Tokenizer& tokenizer, int bos, int eos)
{
    TokenStreams streams;
    // Every k-th document is held out: deterministic, and spread over every source file.
    const int64_t every = std::max<int64_t>(2, int64_t(std::llround(1.0 / o.heldOutFraction)));
    int64_t index = 0;
    for (const std::string& file : o.corpusFiles) {
        readDocuments(file, o.textField, [&](TextDocument&& document) {
            std::vector<int64_t>& stream = (index++ % every == every - 1) ? streams.heldOut
                                                                          : streams.train;
            stream.push_back(bos);
            for (int32_t id : tokenizer.encode(document.text))
                stream.push_back(id);
            stream.push_back(eos);
        });
    }
    return streams;
}

std::string trainTokenizer(const PretrainOptions& o, const fs::path& outputDir)
{
    // sentencepiece reads plain lines: write each document's text, one paragraph per line.
    const fs::path text = outputDir / "tokenizer-training.txt";
    {
        std::ofstream out(text, std::ios::binary);
        for (const std::string& file : o.corpusFiles) {
            readDocuments(file, o.textField, [&](TextDocument&& document) {
                std::istringstream lines(document.text);
                std::string line;
                while (std::getline(lines, line)) {
                    if (!line.empty())
                        out << line << '\n';
                }
            });
        }
        if (!out)
            throw Error("cannot write " + text.string() + " (is the disk full?)");
    }
    TokenizerTrainOptions options;
    options.inputFiles = {text.string()};
    options.modelPrefix = (outputDir / "tokenizer").string();
    options.vocabSize = o.vocabSize;
    const std::string model = Tokenizer::train(options);
    fs::remove(text);
    fs::remove(outputDir / "tokenizer.vocab");
    return model;
}

json shapeOf(const PretrainOptions& o, const LlamaConfig& c)
{
    return {{"config", json::parse(c.toJson())},
            {"sequence_length", o.sequenceLength},
            {"batch_size", o.batchSize},
            {"steps", o.steps}};
}

} // namespace

PretrainResult pretrain(const PretrainOptions& options,
                        const std::function<void(const PretrainProgress&)>& onProgress,
                        const CancelToken* cancel)
{
    validate(options);
    const auto started = Clock::now();
    auto report = [&](PretrainProgress progress) {
        progress.elapsedSeconds = std::chrono::duration<double>(Clock::now() - started).count();
        if (onProgress)
            onProgress(progress);
    };
    const fs::path output(options.outputDir);
    std::error_code ec;
    fs::create_directories(output, ec);
    if (ec)
        throw Error("cannot create output folder " + output.string() + ": " + ec.message());

    // 1. Tokenizer (kept when resuming: the token ids must not change under the model).
    const fs::path tokenizerPath = output / "tokenizer.model";
    if (!fs::exists(tokenizerPath, ec)) {
        report({"tokenizer"});
        trainTokenizer(options, output);
    }
    const Tokenizer tokenizer = Tokenizer::load(tokenizerPath.string());

    LlamaConfig config = options.model;
    config.vocabSize = tokenizer.vocabSize();
    config.bosTokenId = tokenizer.bosId();
    config.eosTokenId = tokenizer.eosId();
    config.torchDtype = "float32";
    config.validate();

    // 2. Token streams.
    report({"tokenizing"});
    const TokenStreams streams = tokenize(options, tokenizer, config.bosTokenId, config.eosTokenId);
    const int64_t window = options.sequenceLength + 1;
    if (int64_t(streams.train.size()) < window * options.batchSize) {
        throw Error("the corpus has only " + std::to_string(streams.train.size())
                    + " training tokens; one batch needs "
                    + std::to_string(window * options.batchSize)
                    + " (hint: add text or lower --batch/--seq-len)");
    }
    if (int64_t(streams.heldOut.size()) < window) {
        throw Error("the held-out part of the corpus has fewer tokens than one sequence; raise "
                    "the held-out fraction or add documents");
    }

    // 3. Model and optimizer, fresh or from the last checkpoint.
    const std::string device = resolveDevice(options.device);
    const torch::Device torchDevice(device);
    const CheckpointFolders checkpoint(output);
    const fs::path resumeFrom = options.resume ? checkpoint.existing() : fs::path();
    LanguageModel model = resumeFrom.empty()
                              ? LanguageModel::random(config, options.seed, {device, "float32"})
                              : LanguageModel::load((resumeFrom / "model").string(),
                                                    {device, "float32", false});
    model.setTokenizer(tokenizer);
    LlamaImpl& llama = *model.impl().model;
    std::vector<torch::Tensor> decayed;
    std::vector<torch::Tensor> plain;
    for (auto& [name, weight] : llama.namedWeights()) {
        weight.set_requires_grad(true);
        // No weight decay on norms, as is usual for transformers.
        (weight.dim() >= 2 ? decayed : plain).push_back(weight);
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(options.learningRate)
                                         .betas({0.9, 0.95})
                                         .weight_decay(options.weightDecay)));
    groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(options.learningRate)
                                       .betas({0.9, 0.95})
                                       .weight_decay(0.0)));
    torch::optim::AdamW optimizer(groups);

    std::mt19937_64 rng(options.seed);
    int64_t step = 0;
    double lastHeldOut = std::nan("");
    if (!resumeFrom.empty()) {
        const json state = json::parse(readFile((resumeFrom / "state.json").string()));
        if (state["shape"] != shapeOf(options, config)) {
            throw Error("the checkpoint in " + resumeFrom.string()
                        + " was made with other settings (model shape, sequence length, batch "
                          "or steps); use the same options, or --no-resume to start over");
        }
        torch::load(optimizer, (resumeFrom / "optimizer.pt").string());
        std::istringstream(state["rng"].get<std::string>()) >> rng;
        step = state["step"].get<int64_t>();
        lastHeldOut = state.value("held_out_loss", std::nan(""));
    }

    auto saveCheckpoint = [&] {
        checkpoint.save([&](const fs::path& folder) {
            model.save((folder / "model").string(), "float32");
            const std::string optimizerTemp = (folder / "optimizer.pt.tmp").string();
            torch::save(optimizer, optimizerTemp);
            fs::rename(optimizerTemp, folder / "optimizer.pt");
            std::ostringstream rngState;
            rngState << rng;
            const json state = {{"step", step},
                                {"rng", rngState.str()},
                                {"held_out_loss", std::isnan(lastHeldOut) ? json(nullptr)
                                                                          : json(lastHeldOut)},
                                {"shape", shapeOf(options, config)}};
            writeFileAtomically((folder / "state.json").string(), state.dump(2));
        });
    };

    // 4. Training.
    PretrainResult result;
    result.trainTokens = int64_t(streams.train.size());
    result.heldOutTokens = int64_t(streams.heldOut.size());
    llama.train();
    std::uniform_int_distribution<int64_t> offsetOf(0, int64_t(streams.train.size()) - window);
    const int64_t tokensPerStep = int64_t(options.batchSize) * options.sequenceLength;
    auto windowStart = Clock::now();
    int64_t windowSteps = 0;
    double loss = std::nan("");
    while (step < options.steps) {
        if (cancel && cancel->isCancelled()) {
            result.cancelled = true;
            break;
        }
        std::vector<int64_t> offsets(options.batchSize);
        for (int64_t& offset : offsets)
            offset = offsetOf(rng);
        const double lr = learningRateAt(options, step);
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimizer.zero_grad();
        torch::Tensor batchLoss = languageModelLoss(llama, tokenWindows(streams.train, offsets, window)
                                                    .to(torchDevice));
        loss = batchLoss.item<double>();
        if (!std::isfinite(loss)) {
            throw Error("the training loss became " + std::to_string(loss) + " at step "
                        + std::to_string(step)
                        + "; lower the learning rate (the last checkpoint is kept)");
        }
        batchLoss.backward();
        torch::nn::utils::clip_grad_norm_(llama.parameters(), options.gradientClip);
        optimizer.step();
        ++step;
        ++windowSteps;

        const bool evaluate = step % options.evalEvery == 0 || step == options.steps;
        if (evaluate) {
            lastHeldOut = meanWindowLoss(llama, streams.heldOut, window, options.batchSize,
                                         torchDevice);
        }
        const double seconds =
            std::chrono::duration<double>(Clock::now() - windowStart).count();
        PretrainProgress progress{"training", step, options.steps, loss, lastHeldOut, lr,
                                  seconds > 0 ? double(windowSteps * tokensPerStep) / seconds
                                              : 0};
        report(progress);
        if (step % options.checkpointEvery == 0 && step < options.steps)
            saveCheckpoint();
        if (windowSteps >= 20) {
            windowStart = Clock::now();
            windowSteps = 0;
        }
    }
    result.steps = step;
    result.finalLoss = loss;
    result.heldOutLoss = lastHeldOut;
    if (result.cancelled) {
        saveCheckpoint();
        return result;
    }

    // 5. The finished model: a Hugging Face folder, plus how it was made.
    report({"saving", step, options.steps, loss, lastHeldOut});
    llama.eval();
    model.save(output.string(), options.saveDtype);
    const json log = {{"steps", step},
                      {"train_tokens", result.trainTokens},
                      {"held_out_tokens", result.heldOutTokens},
                      {"tokens_seen", step * tokensPerStep},
                      {"final_train_loss", loss},
                      {"held_out_loss", lastHeldOut},
                      {"held_out_perplexity", std::exp(lastHeldOut)},
                      {"parameters", config.parameterCount()},
                      {"seconds", std::chrono::duration<double>(Clock::now() - started).count()},
                      {"options", shapeOf(options, config)}};
    writeFileAtomically((output / "training_log.json").string(), log.dump(2) + "\n");
    checkpoint.remove();
    result.modelDir = output.string();
    return result;
}

} // namespace moin
