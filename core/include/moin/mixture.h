#pragma once
// Answers of several experts at once (RoutingMode::Mix): each expert's adapter runs as one row
// of a batched forward pass over the shared base, and their next-token distributions are mixed
// with the routing weights, p(t) = sum_i w_i p_i(t), as c-BTM does (Gururangan et al. 2023).
#include "moin/cancel.h"
#include "moin/model.h"
#include "moin/router.h"

#include <map>
#include <string>
#include <vector>

namespace moin {

/// One member of a mixture: a PEFT adapter folder (empty: the base model alone) and its weight.
struct MixtureMember {
    std::string adapterDirectory;
    double weight = 1;
};

/// The members a routing decision answers with: its experts' adapters (`adapterOf`, by expert
/// id) and weights, or the base alone (weight 1) when the decision falls back. As serving
/// answers a route to an expert without a trained adapter with the base, such experts' weights
/// go to one base member (last); experts whose weight underflowed to 0 are left out.
std::vector<MixtureMember> mixtureOf(const RouteDecision& decision,
                                     const std::map<int, std::string>& adapterOf);

/// Generates a continuation of `prompt` (BOS included) from `model` with the members'
/// next-token distributions mixed at every step; the model's attached adapter is not used. The
/// members decode as rows of one batch (one KV-cache row each, each row with its own adapter).
/// With one member the answer is exactly generateTokens() with that member's adapter attached;
/// with several, the sampler (temperature, top-k, top-p, repetition penalty) works on the
/// mixture's log-probabilities. Weights must be positive and finite; they are renormalised to
/// sum to 1. Throws moin::Error for bad members or options.
GenerationResult generateMixture(const LanguageModel& model,
                                 const std::vector<MixtureMember>& members,
                                 const std::vector<int32_t>& prompt,
                                 const GenerationOptions& options,
                                 const TokenCallback& onToken = {},
                                 const CancelToken* cancel = nullptr);

} // namespace moin
