// Expert health: one read of what the workspace stores about each cluster of a run (clusters,
// training jobs and their evaluations, recorded conversations), joined per cluster. The pieces
// come from the modules that own them (listClusters, TrainingQueue, relativeReduction); only
// the traffic query over the recorded messages is written here.
#include "moin/experthealth.h"

#include "moin/clustering.h"
#include "moin/database.h"
#include "moin/error.h"
#include "moin/specialisation.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <limits>
#include <map>

namespace moin {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t resolveRun(Workspace& workspace, int64_t runId)
{
    if (runId == 0) {
        runId = activeClusterRun(workspace);
        if (runId == 0)
            throw Error("the workspace has no clustering run; run `moin cluster` first");
        return runId;
    }
    if (workspace.database()
            .prepare("SELECT 1 FROM cluster_runs WHERE id = ? AND status = 'done'")
            .bind(1, runId)
            .step())
        return runId;
    std::string known;
    for (const ClusterRunInfo& run : listClusterRuns(workspace))
        known += (known.empty() ? "" : ", ") + std::to_string(run.id);
    throw Error("there is no finished clustering run " + std::to_string(runId) + " in "
                + workspace.directory() + "; "
                + (known.empty() ? std::string("it has none yet: run `moin cluster` first")
                                 : "its runs are " + known
                                       + " (leave out --run for the active one)"));
}

/// The cluster's state as the report names it. Hook for issue 17's derived runs: a cluster
/// whose expert is shared with its parent run's will be "carried over" here, once runs record
/// their lineage (nothing on main does yet).
std::string stateOf(const TrainingJob* newest)
{
    if (!newest)
        return "none";
    if (newest->state == JobState::Done)
        return "trained";
    return toString(newest->state);
}

struct Traffic {
    int64_t chat = 0;
    int64_t api = 0;
    double distanceSum = 0;
    int64_t distances = 0;
};

/// Routed questions of the run per cluster. A routed answer (expert choice "auto") records the
/// router's candidates, nearest first: the first is where the question went, whether its
/// expert or (while the cluster has none) the base answered. Messages recorded before they
/// kept their run (run_id NULL) count for the newest run created before them.
void countTraffic(Workspace& workspace, int64_t runId, std::map<int, Traffic>& traffic,
                  int64_t& inferred)
{
    Statement query = workspace.database().prepare(
        "SELECT json_extract(m.candidates, '$[0].expert'), c.source = 'api', "
        "  m.run_id IS NULL, COUNT(*), "
        "  TOTAL(json_extract(m.candidates, '$[0].distance')), "
        "  COUNT(json_extract(m.candidates, '$[0].distance')) "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.role = 'assistant' AND m.expert_choice = 'auto' AND json_valid(m.candidates) "
        "  AND json_type(m.candidates, '$[0].expert') = 'integer' "
        "  AND (m.run_id = ?1 OR (m.run_id IS NULL AND ?1 = ("
        "    SELECT r.id FROM cluster_runs r WHERE r.status = 'done' "
        "    AND r.created_at <= m.created_at ORDER BY r.created_at DESC, r.id DESC LIMIT 1))) "
        "GROUP BY 1, 2, 3");
    query.bind(1, runId);
    while (query.step()) {
        Traffic& t = traffic[int(query.columnInt64(0))];
        const int64_t count = query.columnInt64(3);
        (query.columnInt64(1) != 0 ? t.api : t.chat) += count;
        if (query.columnInt64(2) != 0)
            inferred += count;
        t.distanceSum += query.columnDouble(4);
        t.distances += query.columnInt64(5);
    }
}

} // namespace

ExpertHealthReport expertHealth(Workspace& workspace, int64_t runId)
{
    ExpertHealthReport report;
    report.runId = resolveRun(workspace, runId);
    TrainingQueue queue(workspace);
    std::map<int, TrainingJob> newest;
    for (TrainingJob& job : queue.latestPerCluster(report.runId))
        newest.emplace(job.cluster, std::move(job));
    std::map<int, ExpertInfo> trained;
    for (ExpertInfo& expert : queue.experts(report.runId))
        trained.emplace(expert.cluster, std::move(expert));
    std::map<int, Traffic> traffic;
    int64_t inferred = 0;
    countTraffic(workspace, report.runId, traffic, inferred);

    for (ClusterInfo& cluster : listClusters(workspace, report.runId)) {
        ExpertHealth health;
        health.cluster = cluster.cluster;
        health.size = cluster.size;
        health.keywords = std::move(cluster.keywords);
        const auto job = newest.find(cluster.cluster);
        health.state = stateOf(job == newest.end() ? nullptr : &job->second);
        health.job = job == newest.end() ? 0 : job->second.id;
        health.basePerplexity = health.expertPerplexity = health.gain = kNaN;
        if (const auto expert = trained.find(cluster.cluster); expert != trained.end()) {
            health.expertJob = expert->second.jobId;
            health.basePerplexity = expert->second.basePerplexity;
            health.expertPerplexity = expert->second.expertPerplexity;
            health.gain = relativeReduction(health.basePerplexity, health.expertPerplexity);
        }
        health.meanDistance = kNaN;
        if (const auto t = traffic.find(cluster.cluster); t != traffic.end()) {
            health.chatQuestions = t->second.chat;
            health.apiQuestions = t->second.api;
            if (t->second.distances > 0)
                health.meanDistance = t->second.distanceSum / double(t->second.distances);
        }
        report.experts.push_back(std::move(health));
    }
    report.inferredRunQuestions = inferred;
    return report;
}

} // namespace moin
