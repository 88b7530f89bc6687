#pragma once
// What the `moin` commands share across their source files.
#include "moin/cancel.h"
#include "moin/model.h"

#include <CLI/CLI.hpp>

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
