#pragma once
// What the `moin` commands share across their source files.
#include "moin/cancel.h"

#include <CLI/CLI.hpp>

/// Set by Ctrl-C (and, for workers, SIGTERM): long commands stop cleanly (checkpoint, partial
/// output) instead of dying.
extern moin::CancelToken g_interrupt;
void installInterruptHandler();

/// `moin train`, `train-worker`, `jobs`, `eval`, `export-expert`.
void addTrainingCommands(CLI::App& app);
