// `moin experts`: the health of every expert of a run (expertHealth), as JSON or a table.
#include "cli_common.h"

#include "moin/experthealth.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

using json = nlohmann::json;

json numberOrNull(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json healthJson(const moin::ExpertHealthReport& report)
{
    json experts = json::array();
    for (const moin::ExpertHealth& e : report.experts) {
        experts.push_back({{"cluster", e.cluster},
                           {"size", e.size},
                           {"keywords", e.keywords},
                           {"state", e.state},
                           {"job", e.job ? json(e.job) : json(nullptr)},
                           {"expert_job", e.expertJob ? json(e.expertJob) : json(nullptr)},
                           {"base_perplexity", numberOrNull(e.basePerplexity)},
                           {"expert_perplexity", numberOrNull(e.expertPerplexity)},
                           {"gain", numberOrNull(e.gain)},
                           {"questions", e.questions()},
                           {"chat_questions", e.chatQuestions},
                           {"api_questions", e.apiQuestions},
                           {"mean_distance", numberOrNull(e.meanDistance)}});
    }
    return {{"run", report.runId},
            {"experts", experts},
            {"inferred_run_questions", report.inferredRunQuestions}};
}

std::string numberText(double value, const char* format)
{
    if (!std::isfinite(value))
        return "-";
    char text[32];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

void printTable(const moin::ExpertHealthReport& report)
{
    std::printf("run %lld\n", static_cast<long long>(report.runId));
    std::printf("%7s %7s %-9s %9s %9s %7s %9s %5s %5s %8s  %s\n", "cluster", "chunks", "state",
                "base ppl", "exp. ppl", "gain", "questions", "chat", "api", "distance",
                "keywords");
    int64_t questions = 0;
    for (const moin::ExpertHealth& e : report.experts) {
        std::string keywords;
        for (size_t i = 0; i < e.keywords.size() && i < 4; ++i)
            keywords += (i ? ", " : "") + e.keywords[i];
        std::printf("%7d %7lld %-9s %9s %9s %7s %9lld %5lld %5lld %8s  %s\n", e.cluster,
                    static_cast<long long>(e.size), e.state.c_str(),
                    numberText(e.basePerplexity, "%.2f").c_str(),
                    numberText(e.expertPerplexity, "%.2f").c_str(),
                    numberText(e.gain * 100, "%+.1f%%").c_str(),
                    static_cast<long long>(e.questions()),
                    static_cast<long long>(e.chatQuestions),
                    static_cast<long long>(e.apiQuestions),
                    numberText(e.meanDistance, "%.3f").c_str(), keywords.c_str());
        questions += e.questions();
    }
    std::printf("%lld routed questions", static_cast<long long>(questions));
    if (report.inferredRunQuestions > 0)
        std::printf(" (%lld recorded before answers kept their run: counted for the run that "
                    "was newest then)",
                    static_cast<long long>(report.inferredRunQuestions));
    std::printf("\n");
}

} // namespace

void addExpertsCommand(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "experts", "Expert health: per cluster its size, state, held-out perplexities, gain, "
                   "and the questions routed to it");
    static std::string dir;
    static int64_t runId = 0;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_option("--run", runId, "Clustering run (default: the active run)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const moin::ExpertHealthReport report = moin::expertHealth(workspace, runId);
        if (asJson)
            std::cout << healthJson(report).dump(2) << "\n";
        else
            printTable(report);
    });
}
