// Held-out perplexity of the base and of each expert on its own cluster (and, as a control, on
// another cluster), on exactly the chunks its training job held out; and of a routing's answer
// (top-1, a mixture of experts, or the oracle) on all those chunks.
#include "moin/evaluation.h"

#include "llama.h"

#include "moin/clustering.h"
#include "moin/error.h"
#include "moin/mixture.h"
#include "moin/precision.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace moin {

namespace {

// The texts of a cluster's held-out chunks, in heldOutChunks order (at most maxChunks; 0 = all).
std::vector<std::string> heldOutTexts(Workspace& workspace, int64_t runId, int cluster,
                                      double fraction, int maxChunks)
{
    Statement text = workspace.database().prepare("SELECT text FROM chunks WHERE id = ?");
    std::vector<std::string> texts;
    for (int64_t id : heldOutChunks(workspace, runId, cluster, fraction)) {
        if (maxChunks > 0 && int(texts.size()) >= maxChunks)
            break;
        text.reset();
        text.bind(1, id);
        if (text.step())
            texts.push_back(text.columnText(0));
    }
    return texts;
}

// `runId`, or the active run when 0; throws when the workspace has none.
int64_t evaluatedRun(Workspace& workspace, int64_t runId)
{
    runId = runId ? runId : activeClusterRun(workspace);
    if (runId == 0)
        throw Error("the workspace has no clustering run; run `moin cluster` first");
    return runId;
}

// The run's trained experts; throws when there is none yet.
std::vector<ExpertInfo> trainedExperts(TrainingQueue& queue, int64_t runId)
{
    std::vector<ExpertInfo> experts = queue.experts(runId);
    if (experts.empty()) {
        throw Error("run " + std::to_string(runId)
                    + " has no trained expert yet; run `moin train` first");
    }
    return experts;
}

std::vector<int32_t> withBos(const LanguageModel& model, const std::string& text)
{
    std::vector<int32_t> tokens = model.tokenizer().encode(text);
    tokens.insert(tokens.begin(), model.config().bosTokenId);
    return tokens;
}

// Who answers a sequence: rows of the forward pass, each an adapter (null: the base) with its
// log weight.
struct Answer {
    std::vector<const LoadedAdapter*> adapters;
    std::vector<double> logWeights;
};

// Negative log-likelihood (nats) and tokens scored of each sequence (BOS first) under its
// answer: per token -log sum_i w_i p_i(token), the members of an answer running as rows of one
// batched forward pass. A sequence longer than the context is scored in windows of the context
// that overlap by one token (as LanguageModel::perplexityOfTokens), so every token after the
// BOS is scored exactly once.
std::pair<double, int64_t> mixtureNll(LlamaImpl& llama,
                                      const std::vector<std::vector<int32_t>>& sequences,
                                      const std::vector<Answer>& answers,
                                      const std::function<void(int64_t, int64_t)>& onTokens,
                                      const CancelToken* cancel)
{
    const int64_t context = llama.config.maxPositions;
    struct Window {
        const std::vector<int32_t>* sequence;
        size_t begin, length;
        const Answer* answer;
    };
    std::vector<Window> windows;
    int64_t total = 0;
    for (size_t i = 0; i < sequences.size(); ++i) {
        const size_t n = sequences[i].size();
        for (size_t begin = 0; begin + 1 < n; begin += size_t(context - 1)) {
            const size_t length = std::min(n - begin, size_t(context));
            windows.push_back({&sequences[i], begin, length, &answers[i]});
            total += int64_t(length) - 1;
        }
    }
    // Similar lengths together, so that padding wastes little; right padding does not change
    // the logits of the real tokens before it (causal attention).
    std::stable_sort(windows.begin(), windows.end(),
                     [](const Window& a, const Window& b) { return a.length < b.length; });
    constexpr int64_t kTokensPerBatch = 4096; // rows x width: bounds the (rows, width, vocab)
    double nll = 0;
    int64_t scored = 0;
    const auto longs = torch::TensorOptions().dtype(torch::kLong);
    for (size_t begin = 0; begin < windows.size();) {
        if (cancel && cancel->isCancelled())
            break;
        size_t end = begin;
        int64_t rows = 0;
        while (end < windows.size()) {
            const int64_t more = int64_t(windows[end].answer->adapters.size());
            if (end > begin && (rows + more) * int64_t(windows[end].length) > kTokensPerBatch)
                break;
            rows += more;
            ++end;
        }
        const int64_t width = int64_t(windows[end - 1].length) - 1; // inputs per row
        torch::Tensor ids = torch::zeros({rows, width}, longs);
        torch::Tensor targets = torch::zeros({rows, width}, longs);
        torch::Tensor mask = torch::zeros({rows, width}, torch::kFloat32); // 1 on scored tokens
        ForwardBatch batch;
        std::vector<double> logWeights;
        int64_t row = 0;
        for (size_t w = begin; w < end; ++w) {
            const Window& window = windows[w];
            const int64_t n = int64_t(window.length);
            std::vector<int64_t> tokens(window.sequence->begin() + long(window.begin),
                                        window.sequence->begin() + long(window.begin) + n);
            const torch::Tensor t = torch::tensor(tokens, longs);
            for (size_t m = 0; m < window.answer->adapters.size(); ++m, ++row) {
                ids[row].narrow(0, 0, n - 1).copy_(t.narrow(0, 0, n - 1));
                targets[row].narrow(0, 0, n - 1).copy_(t.narrow(0, 1, n - 1));
                mask[row].narrow(0, 0, n - 1).fill_(1);
                batch.adapters.push_back(window.answer->adapters[m]);
                logWeights.push_back(window.answer->logWeights[m]);
            }
        }
        const torch::Tensor logits = llama.forward(ids.to(llama.deviceOf()), batch);
        // log p_row(target): (rows, width)
        const torch::Tensor logProbs = torch::log_softmax(logits.to(torch::kFloat32), -1)
                                           .gather(-1, targets.to(llama.deviceOf()).unsqueeze(-1))
                                           .squeeze(-1)
                                           .to(torch::kCPU)
                                           .to(torch::kDouble);
        const torch::Tensor weighted =
            logProbs + torch::tensor(logWeights, torch::kDouble).view({-1, 1});
        row = 0;
        for (size_t w = begin; w < end; ++w) {
            const int64_t members = int64_t(windows[w].answer->adapters.size());
            const int64_t n = int64_t(windows[w].length) - 1;
            // log sum_i w_i p_i(token) per position: (n)
            const torch::Tensor mixed =
                torch::logsumexp(weighted.narrow(0, row, members).narrow(1, 0, n), 0);
            nll -= mixed.sum().item<double>();
            scored += n;
            row += members;
        }
        if (onTokens)
            onTokens(scored, total);
        begin = end;
    }
    return {nll, scored};
}

} // namespace

PerplexityResult perplexityOfSequences(const LanguageModel& model,
                                       const std::vector<std::vector<int32_t>>& sequences)
{
    torch::InferenceMode guard;
    LlamaImpl& llama = *model.impl().model;
    const int64_t context = llama.config.maxPositions;
    // Similar lengths together, so that padding wastes little; right padding does not change
    // the logits of the real tokens before it (causal attention).
    std::vector<size_t> order;
    for (size_t i = 0; i < sequences.size(); ++i) {
        if (sequences[i].size() >= 2)
            order.push_back(i);
    }
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return sequences[a].size() < sequences[b].size(); });
    constexpr int64_t kTokensPerBatch = 4096;
    double totalNll = 0;
    int64_t tokens = 0;
    for (size_t begin = 0; begin < order.size();) {
        const int64_t length = int64_t(sequences[order[begin]].size());
        if (length > context) {
            // Longer than the context: the windowed single-sequence path.
            const PerplexityResult one = model.perplexityOfTokens(sequences[order[begin]]);
            totalNll += one.meanNll * double(one.tokens);
            tokens += one.tokens;
            ++begin;
            continue;
        }
        size_t end = begin + 1;
        while (end < order.size() && int64_t(sequences[order[end]].size()) <= context
               && int64_t(end - begin + 1) * int64_t(sequences[order[end]].size())
                      <= kTokensPerBatch)
            ++end;
        const int64_t width = int64_t(sequences[order[end - 1]].size());
        const int64_t batch = int64_t(end - begin);
        torch::Tensor ids = torch::zeros({batch, width}, torch::kLong);
        torch::Tensor targets = torch::full({batch, width - 1}, -100, torch::kLong);
        for (int64_t b = 0; b < batch; ++b) {
            const std::vector<int32_t>& sequence = sequences[order[begin + size_t(b)]];
            const int64_t n = int64_t(sequence.size());
            for (int64_t t = 0; t < n; ++t)
                ids[b][t] = int64_t(sequence[size_t(t)]);
            targets[b].narrow(0, 0, n - 1).copy_(ids[b].narrow(0, 1, n - 1));
        }
        const torch::Tensor logits =
            llama.forward(ids.narrow(1, 0, width - 1).to(llama.deviceOf()));
        totalNll += torch::nn::functional::cross_entropy(
                        logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                        targets.reshape({-1}).to(llama.deviceOf()),
                        torch::nn::functional::CrossEntropyFuncOptions()
                            .reduction(torch::kSum)
                            .ignore_index(-100))
                        .item<double>();
        for (size_t i = begin; i < end; ++i)
            tokens += int64_t(sequences[order[i]].size()) - 1;
        begin = end;
    }
    PerplexityResult result;
    result.tokens = tokens;
    result.meanNll = tokens ? totalNll / double(tokens) : std::nan("");
    result.perplexity = std::exp(result.meanNll);
    return result;
}

std::vector<int64_t> heldOutChunks(Workspace& workspace, int64_t runId, int cluster,
                                   double fraction)
{
    Statement query = workspace.database().prepare(
        "SELECT chunk_id FROM chunk_clusters WHERE run_id = ? AND cluster = ? ORDER BY chunk_id");
    query.bind(1, runId).bind(2, cluster);
    std::vector<int64_t> ids;
    while (query.step())
        ids.push_back(query.columnInt64(0));
    return splitCluster(ids, fraction).heldOutChunks;
}

std::vector<std::vector<int32_t>> heldOutSequences(Workspace& workspace,
                                                   const LanguageModel& model, int64_t runId,
                                                   int cluster, double fraction, int maxChunks)
{
    std::vector<std::vector<int32_t>> sequences;
    for (const std::string& text : heldOutTexts(workspace, runId, cluster, fraction, maxChunks))
        sequences.push_back(withBos(model, text));
    return sequences;
}

std::vector<ExpertEvaluation> evaluateExperts(Workspace& workspace,
                                              const EvaluationOptions& options,
                                              const std::function<void(int, int)>& onProgress,
                                              const CancelToken* cancel)
{
    const int64_t runId = evaluatedRun(workspace, options.runId);
    TrainingQueue queue(workspace);
    std::vector<ExpertInfo> experts = trainedExperts(queue, runId);
    std::map<int, TrainingSpec> specOf;
    for (const ExpertInfo& expert : experts)
        specOf[expert.cluster] = queue.job(expert.jobId).spec;
    std::vector<ExpertInfo> chosen;
    if (options.experts.empty()) {
        chosen = experts;
    } else {
        for (int id : options.experts) {
            auto found = std::find_if(experts.begin(), experts.end(),
                                      [&](const ExpertInfo& e) { return e.cluster == id; });
            if (found == experts.end()) {
                throw Error("expert " + std::to_string(id) + " of run " + std::to_string(runId)
                            + " has not been trained");
            }
            chosen.push_back(*found);
        }
    }

    // One base model; each expert's adapter goes on and off it.
    LanguageModel model = LanguageModel::load(specOf.begin()->second.baseModel,
                                              {options.device, "auto", true});
    const Precision precision =
        resolvePrecision(parsePrecision(options.precision), model.device());
    storeBaseWeightsFor(model, precision);
    const PrecisionScope precisionScope(precision, model.device());
    std::map<int, std::vector<std::vector<int32_t>>> sequencesOf;
    std::map<int, double> basePerplexityOf;
    auto prepare = [&](int cluster) {
        if (sequencesOf.count(cluster))
            return;
        sequencesOf[cluster] = heldOutSequences(workspace, model, runId, cluster,
                                                specOf[cluster].heldOutFraction,
                                                options.maxChunks);
        model.detachAdapter();
        basePerplexityOf[cluster] = perplexityOfSequences(model, sequencesOf[cluster]).perplexity;
    };

    std::vector<ExpertEvaluation> results;
    int done = 0;
    for (size_t i = 0; i < chosen.size(); ++i) {
        if (cancel && cancel->isCancelled())
            break;
        const ExpertInfo& expert = chosen[i];
        ExpertEvaluation evaluation;
        evaluation.expert = expert.cluster;
        prepare(expert.cluster);
        // The control is the next trained expert's cluster (in cluster order, wrapping).
        int control = -1;
        if (options.control && experts.size() > 1) {
            auto self = std::find_if(experts.begin(), experts.end(), [&](const ExpertInfo& e) {
                return e.cluster == expert.cluster;
            });
            control = (std::next(self) == experts.end() ? experts.front() : *std::next(self))
                          .cluster;
            prepare(control);
        }
        model.loadAdapter(expert.adapterPath);
        const std::vector<std::vector<int32_t>>& own = sequencesOf[expert.cluster];
        const PerplexityResult ownResult = perplexityOfSequences(model, own);
        evaluation.heldOutChunks = int64_t(own.size());
        evaluation.heldOutTokens = ownResult.tokens;
        evaluation.expertPerplexity = ownResult.perplexity;
        evaluation.basePerplexity = basePerplexityOf[expert.cluster];
        if (control >= 0) {
            evaluation.controlCluster = control;
            evaluation.controlExpertPerplexity =
                perplexityOfSequences(model, sequencesOf[control]).perplexity;
            evaluation.controlBasePerplexity = basePerplexityOf[control];
        }
        model.detachAdapter();
        results.push_back(evaluation);
        if (onProgress)
            onProgress(++done, int(chosen.size()));
    }
    return results;
}

RoutedEvaluation evaluateRouting(Workspace& workspace, const RoutedEvaluationOptions& options,
                                 const std::function<void(int, int)>& onProgress,
                                 const CancelToken* cancel)
{
    const int64_t runId = evaluatedRun(workspace, options.runId);
    TrainingQueue queue(workspace);
    const std::vector<ExpertInfo> experts = trainedExperts(queue, runId);
    const TrainingSpec firstSpec = queue.job(experts.front().jobId).spec;
    LanguageModel model =
        LanguageModel::load(firstSpec.baseModel, {options.device, "auto", true});
    RoutedEvaluation result;
    result.routing = options.oracle ? "oracle" : toString(options.policy.mode);
    result.k = options.oracle ? 1 : options.policy.expertsUsed();
    result.temperature = options.policy.temperature;

    // Every trained expert's held-out chunks, with the cluster they belong to.
    std::vector<std::string> texts;
    std::vector<int> ownCluster;
    for (const ExpertInfo& expert : experts) {
        const double fraction = queue.job(expert.jobId).spec.heldOutFraction;
        for (std::string& text :
             heldOutTexts(workspace, runId, expert.cluster, fraction, options.maxChunks)) {
            texts.push_back(std::move(text));
            ownCluster.push_back(expert.cluster);
        }
    }
    std::vector<RouteDecision> decisions;
    if (!options.oracle) {
        // Routed as a query would be: the run's embedder (the base itself for "model").
        const Router router = Router::open(workspace, runId, &model);
        decisions = router.route(texts, options.policy);
    }

    const Precision precision =
        resolvePrecision(parsePrecision(options.precision), model.device());
    storeBaseWeightsFor(model, precision);
    const PrecisionScope precisionScope(precision, model.device());
    LlamaImpl& llama = *model.impl().model;
    std::map<int, std::string> adapterPathOf;
    std::map<std::string, LoadedAdapter> loaded; // by folder
    for (const ExpertInfo& expert : experts) {
        adapterPathOf[expert.cluster] = expert.adapterPath;
        loaded.emplace(expert.adapterPath,
                       readAdapter(llama, expert.adapterPath, model.directory()));
    }

    std::vector<std::vector<int32_t>> sequences;
    std::vector<Answer> routed, base;
    for (size_t i = 0; i < texts.size(); ++i) {
        sequences.push_back(withBos(model, texts[i]));
        base.push_back({{nullptr}, {0.0}});
        RouteDecision decision;
        if (options.oracle) {
            decision.expert = ownCluster[i];
            decision.experts = {{ownCluster[i], 0.f, 1.0}};
        } else {
            decision = decisions[i];
            result.routedToOwnCluster += decision.expert == ownCluster[i] ? 1 : 0;
            result.fallbackChunks += decision.fallback ? 1 : 0;
            result.untrainedRoutes +=
                std::any_of(decision.experts.begin(), decision.experts.end(),
                            [&](const RoutedExpert& e) { return !adapterPathOf.count(e.expert); })
                    ? 1
                    : 0;
        }
        // The same members a routed generation decodes with (mixtureOf).
        Answer answer;
        for (const MixtureMember& m : mixtureOf(decision, adapterPathOf)) {
            answer.adapters.push_back(m.adapterDirectory.empty() ? nullptr
                                                                 : &loaded.at(m.adapterDirectory));
            answer.logWeights.push_back(std::log(m.weight));
        }
        routed.push_back(std::move(answer));
    }
    if (options.oracle)
        result.routedToOwnCluster = int64_t(texts.size());
    result.chunks = int64_t(texts.size());

    // Progress in tokens scored, both passes together, reported as per mille.
    int64_t baseTotal = 0;
    auto progress = [&](int64_t offset) {
        return [&, offset](int64_t done, int64_t total) {
            if (!baseTotal)
                baseTotal = total;
            if (onProgress)
                onProgress(int(1000 * (offset + done) / (2 * baseTotal)), 1000);
        };
    };
    const auto [baseNll, baseTokens] = mixtureNll(llama, sequences, base, progress(0), cancel);
    const auto [routedNll, routedTokens] =
        mixtureNll(llama, sequences, routed, progress(baseTokens), cancel);
    if (cancel && cancel->isCancelled())
        throw Error("routed evaluation cancelled");
    result.tokens = routedTokens;
    result.basePerplexity = baseTokens ? std::exp(baseNll / double(baseTokens)) : std::nan("");
    result.routedPerplexity =
        routedTokens ? std::exp(routedNll / double(routedTokens)) : std::nan("");
    return result;
}

} // namespace moin
