#pragma once
// What the `moin` commands share across their source files.
#include "moin/cancel.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/router.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>

#include <limits>
#include <optional>
#include <string>

/// Set by Ctrl-C (and, for workers, SIGTERM): long commands stop cleanly (checkpoint, partial
/// output) instead of dying.
extern moin::CancelToken g_interrupt;
void installInterruptHandler();

/// `moin train`, `train-worker`, `jobs`, `eval`, `export-expert`.
void addTrainingCommands(CLI::App& app);

/// `moin experts`: the health of every expert of a run (cli_experts.cpp).
void addExpertsCommand(CLI::App& app);

/// `moin serve`, `moin chat` and `moin export-serving`.
void addServingCommands(CLI::App& app);
/// `moin generate DIR [--expert auto|base|ID] PROMPT`: one routed answer from a workspace, the
/// routing decision on stderr.
void generateInWorkspace(const std::string& dir, const std::string& prompt,
                         const std::string& expert, const moin::GenerationOptions& options,
                         const std::string& device);

/// The routing options of `moin route`, `generate` and `eval`: a mode, k, T and a fallback
/// distance; those not given keep the workspace's defaults (moin::workspaceRoutingPolicy).
struct RoutingOptions {
    std::string mode;
    std::optional<int> k;
    std::optional<double> temperature;
    std::string fallbackDistance;

    /// `modeName` e.g. "--mode" (empty: the command names the mode itself); `kNames` and
    /// `temperatureNames` in CLI11's "--a,--b" form.
    void add(CLI::App* cmd, const std::string& modeName, const std::string& kNames,
             const std::string& temperatureNames, bool withFallback = true)
    {
        if (!modeName.empty())
            cmd->add_option(modeName, mode,
                        "Routing: top1 (the nearest expert) or mix (the k nearest, next-token "
                        "distributions mixed by softmax(-d^2/T)); default: the workspace's");
        cmd->add_option(kNames, k, "Experts mixed with mix routing");
        cmd->add_option(temperatureNames, temperature,
                        "T of the mix weights softmax(-d^2/T) (squared embedding distance)");
        if (withFallback)
            cmd->add_option("--fallback-distance", fallbackDistance,
                            "Distance beyond which the base model answers alone (or 'off')");
    }

    moin::RoutingPolicy policyFor(moin::Workspace& workspace) const
    {
        moin::RoutingPolicy policy = moin::workspaceRoutingPolicy(workspace);
        if (!mode.empty())
            policy.mode = moin::parseRoutingMode(mode);
        if (k)
            policy.k = *k;
        if (temperature)
            policy.temperature = *temperature;
        if (fallbackDistance == "off") {
            policy.fallbackDistance = std::numeric_limits<double>::infinity();
        } else if (!fallbackDistance.empty()) {
            size_t used = 0;
            try {
                policy.fallbackDistance = std::stod(fallbackDistance, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != fallbackDistance.size())
                throw moin::Error("--fallback-distance is '" + fallbackDistance
                                  + "'; expected a distance (0 or more) or 'off'");
        }
        return policy;
    }
};
