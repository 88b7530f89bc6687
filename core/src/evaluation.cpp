// Held-out perplexity of the base and of each expert on its own cluster (and, as a control, on
// another cluster), on exactly the chunks its training job held out.
#include "moin/evaluation.h"

#include "llama.h"

#include "moin/clustering.h"
#include "moin/error.h"
#include "moin/precision.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace moin {

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
    const Tokenizer& tokenizer = model.tokenizer();
    const int bos = model.config().bosTokenId;
    Statement text = workspace.database().prepare("SELECT text FROM chunks WHERE id = ?");
    std::vector<std::vector<int32_t>> sequences;
    for (int64_t id : heldOutChunks(workspace, runId, cluster, fraction)) {
        if (maxChunks > 0 && int(sequences.size()) >= maxChunks)
            break;
        text.reset();
        text.bind(1, id);
        if (!text.step())
            continue;
        std::vector<int32_t> tokens = tokenizer.encode(text.columnText(0));
        tokens.insert(tokens.begin(), bos);
        sequences.push_back(std::move(tokens));
    }
    return sequences;
}

std::vector<ExpertEvaluation> evaluateExperts(Workspace& workspace,
                                              const EvaluationOptions& options,
                                              const std::function<void(int, int)>& onProgress,
                                              const CancelToken* cancel)
{
    const int64_t runId = options.runId ? options.runId : activeClusterRun(workspace);
    if (runId == 0)
        throw Error("the workspace has no clustering run; run `moin cluster` first");
    TrainingQueue queue(workspace);
    std::vector<ExpertInfo> experts = queue.experts(runId);
    if (experts.empty()) {
        throw Error("run " + std::to_string(runId)
                    + " has no trained expert yet; run `moin train` first");
    }
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

} // namespace moin
