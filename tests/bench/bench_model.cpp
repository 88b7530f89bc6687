// bench_model: the model engine's speed, each figure also as a fraction of the machine's limits
// measured in the same run. Not a test: run it by hand (see README.md).
#include "cpu_share.h"
#include "machine_limits.h"
#include "model_speed.h"
#include "process_memory.h"

#include "llama.h"

#include "moin/model.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>

namespace {

using moin::LanguageModel;
using moin::LlamaConfig;
using namespace moin::bench;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;

const Clock::time_point kStart = Clock::now();

// Progress goes to stderr so that stdout holds only the report (or the JSON object).
void progress(const std::string& message)
{
    const double t = std::chrono::duration<double>(Clock::now() - kStart).count();
    std::fprintf(stderr, "[%7.1f s] %s\n", t, message.c_str());
}

// The small built-in base's shape as `moin pretrain` builds it, for when no folder is given.
LlamaConfig smallBaseShape()
{
    LlamaConfig c;
    c.vocabSize = 4096;
    c.hiddenSize = 192;
    c.intermediateSize = 512;
    c.numLayers = 4;
    c.numHeads = 6;
    c.numKvHeads = 2;
    c.maxPositions = 512;
    c.tieWordEmbeddings = true;
    c.torchDtype = "float32";
    return c;
}

// OpenBLAS keeps its own thread pool, which torch::set_num_threads does not reach (Debian's
// libtorch calls omp_set_num_threads only). Looked up at run time: the BLAS may not be OpenBLAS.
struct BlasInfo {
    std::string config = "unknown BLAS";
    std::string core;
    int threads = -1;
};

BlasInfo setBlasThreads(int threads)
{
    BlasInfo info;
    if (auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
    if (auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        info.threads = get();
    if (auto config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
        info.config = config();
    if (auto core = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
        info.core = core();
    return info;
}

std::string cpuName()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    }
    return "unknown CPU";
}

double loadAverage()
{
    std::ifstream in("/proc/loadavg");
    double oneMinute = -1;
    in >> oneMinute;
    return oneMinute;
}

struct PeerFigures {
    std::string model;       ///< the Hugging Face folder of shape m
    double llama2c = -1;     ///< llama2.c run.c fp32 decode, best of 3 (tokens/s)
    double llamacppF32 = -1; ///< llama-bench tg of model-f32.gguf
    double llamacppF16 = -1; ///< llama-bench tg of model-f16.gguf
    std::vector<std::string> notes;
};

struct ModelReport {
    std::string name;
    LlamaConfig config;
    int64_t bytesPerValue = 4;
    double createSeconds = 0;
    MemorySample beforeCreate, afterCreate;
    int64_t peakDuringCreate = -1, peakDuringRun = -1;
    int reps = 1;
    std::vector<PhaseResult> phases;
    /// Share of the CPUs other processes took from creation to the end of the measurements.
    double othersCpu = -1;
};

// Where a phase sits on the roofline: the attainable GFLOP/s at its arithmetic intensity.
struct Roofline {
    double attainableGflops = 0;
    /// "compute" or "memory": which ceiling binds at this intensity.
    std::string bound;
};

Roofline roofline(const PhaseResult& p, const MachineLimits& limits)
{
    const double intensity = p.work.flops / p.work.bytes; // FLOP per byte
    const double memoryBound = intensity * limits.bandwidthCeiling;
    if (memoryBound < limits.matmulCeiling)
        return {memoryBound, "memory"};
    return {limits.matmulCeiling, "compute"};
}

double fraction(double achieved, double ceiling) { return ceiling > 0 ? achieved / ceiling : 0; }

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

std::string mib(int64_t bytes) { return bytes < 0 ? "n/a" : format("%.0f", bytes / kMiB); }

void printReport(std::ostream& out, const json& setup, const MachineLimits& limits,
                 const std::vector<ModelReport>& models,
                 const std::optional<GenerateResult>& generate, const PeerFigures* peers)
{
    out << "MoIN Studio model benchmark\n"
        << "  " << setup["cpu"].get<std::string>() << "; torch " << TORCH_VERSION << " with "
        << setup["torchThreads"] << " threads; " << setup["blas"].get<std::string>() << " ("
        << setup["blasCore"].get<std::string>() << ", " << setup["blasThreads"]
        << " threads"
        << (setup["openblasCoretype"].get<std::string>().empty()
                ? std::string()
                : "; OPENBLAS_CORETYPE=" + setup["openblasCoretype"].get<std::string>())
        << ")\n"
        << format("  other processes took %.0f%% of the CPUs during the run (load average %.2f "
                  "at start, %.2f at end)\n\n",
                  100 * setup["othersCpuShare"].get<double>(),
                  setup["loadAverageStart"].get<double>(), setup["loadAverageEnd"].get<double>());

    out << format("Machine limits (best of several repetitions; other processes took %.0f%% of "
                  "the CPUs meanwhile)\n",
                  100 * setup["othersCpuShareLimits"].get<double>());
    for (const KernelResult& k : limits.bandwidth) {
        out << format("  %-52s %8.1f GB/s", k.name.c_str(), k.rate());
        if (!k.countsForCeiling)
            out << format("  (%.0f%% of ceiling; not a ceiling)",
                          100 * fraction(k.rate(), limits.bandwidthCeiling));
        out << "\n";
    }
    out << format("  %-52s %8.1f GB/s\n", "=> bandwidth ceiling", limits.bandwidthCeiling);
    out << format("  %-52s %8.1f GB/s\n", "=> read-only ceiling (what decode needs)",
                  limits.readCeiling);
    double fmaPeak = 0;
    for (const KernelResult& k : limits.matmul) {
        out << format("  %-52s %8.1f GFLOP/s\n", k.name.c_str(), k.rate());
        if (!k.countsForCeiling)
            fmaPeak = std::max(fmaPeak, k.rate());
    }
    out << format("  %-52s %8.1f GFLOP/s", "=> matmul ceiling", limits.matmulCeiling);
    if (fmaPeak > 0)
        out << format("  (%.0f%% of the FMA peak)", 100 * fraction(limits.matmulCeiling, fmaPeak));
    out << "\n";
    for (const json& warning : setup["warnings"])
        out << "  WARNING: " << warning.get<std::string>() << "\n";
    out << "\n";

    out << "Model speed (fastest repetition; %mm, %bw, %rd = achieved / matmul, bandwidth, "
           "read-only ceiling;\n%roofline = achieved / the lower of the matmul ceiling and "
           "FLOP/byte x bandwidth ceiling)\n";
    out << format("  %-29s %5s %-7s %6s %9s %9s %7s %6s %6s %6s %6s %10s\n", "model", "batch",
                  "phase", "tokens", "seconds", "tokens/s", "GFLOP/s", "%mm", "GB/s", "%bw",
                  "%rd", "%roofline");
    for (const ModelReport& m : models) {
        for (const PhaseResult& p : m.phases) {
            const Roofline r = roofline(p, limits);
            out << format("  %-29s %5lld %-7s %6lld %9.4f %9.1f %7.1f %5.1f%% %6.2f %5.1f%% "
                          "%5.1f%% %5.1f%% %-3s\n",
                          m.name.c_str(), (long long)p.batch, p.phase.c_str(),
                          (long long)p.tokens, p.seconds, p.tokensPerSecond(), p.gflops(),
                          100 * fraction(p.gflops(), limits.matmulCeiling), p.gbps(),
                          100 * fraction(p.gbps(), limits.bandwidthCeiling),
                          100 * fraction(p.gbps(), limits.readCeiling),
                          100 * fraction(p.gflops(), r.attainableGflops),
                          r.bound == "memory" ? "mem" : "cpu");
        }
    }

    out << "\nModels and memory (MiB; peaks are VmHWM per phase)\n";
    out << format("  %-29s %14s %8s %8s %10s %10s %11s %9s %8s\n", "model", "parameters",
                  "weights", "created", "RSS before", "RSS after", "peak create", "peak run",
                  "others");
    for (const ModelReport& m : models) {
        const int64_t weightBytes = m.config.parameterCount() * m.bytesPerValue;
        out << format("  %-29s %14lld %8s %7.1fs %10s %10s %11s %9s %7.0f%%\n", m.name.c_str(),
                      (long long)m.config.parameterCount(), mib(weightBytes).c_str(),
                      m.createSeconds, mib(m.beforeCreate.rssBytes).c_str(),
                      mib(m.afterCreate.rssBytes).c_str(), mib(m.peakDuringCreate).c_str(),
                      mib(m.peakDuringRun).c_str(), 100 * m.othersCpu);
    }
    out << "  others = share of the CPUs that other processes took while the model ran\n";
    out << format("  process peak (VmHWM): %s MiB\n",
                  mib(setup["processPeakBytes"].get<int64_t>()).c_str());

    if (peers) {
        const ModelReport* f32 = nullptr;
        const ModelReport* bf16 = nullptr;
        for (const ModelReport& m : models) {
            if (m.name == "m fp32 (peers)")
                f32 = &m;
            if (m.name == "m bf16 copy")
                bf16 = &m;
        }
        auto phase = [](const ModelReport* m, const char* name) -> const PhaseResult* {
            for (const PhaseResult& p : m->phases) {
                if (p.phase == name && p.batch == 1)
                    return &p;
            }
            return nullptr;
        };
        out << "\nAgainst the peers, shape m (" << peers->model << "), same run, "
            << setup["torchThreads"] << " threads; decoder kernels: " << setup["kernels"].get<std::string>() << "\n";
        out << format("  llama2.c run.c fp32 decode (best of 3, 200 tokens)   %8.1f tokens/s\n",
                      peers->llama2c);
        if (peers->llamacppF32 > 0)
            out << format("  llama.cpp llama-bench tg64 f32 / f16               %8.1f / %.1f "
                          "tokens/s\n",
                          peers->llamacppF32, peers->llamacppF16);
        for (const auto& [m, label, target] :
             {std::make_tuple(f32, "ours fp32", 1.5), std::make_tuple(bf16, "ours bf16 copy", 2.5)}) {
            if (!m)
                continue;
            const PhaseResult* d = phase(m, "decode");
            out << format("  %-14s batch-1 decode %8.1f tokens/s = %.2fx llama2.c (target >= "
                          "%.1fx), %.0f%% of the read-only ceiling (%.1f GB/s)\n",
                          label, d->tokensPerSecond(), fraction(d->tokensPerSecond(),
                                                               peers->llama2c),
                          target, 100 * fraction(d->gbps(), limits.readCeiling), d->gbps());
            if (peers->llamacppF32 > 0)
                out << format("  %-14s vs llama.cpp %s: %.2fx\n", label,
                              m == f32 ? "f32" : "f16",
                              fraction(d->tokensPerSecond(),
                                       m == f32 ? peers->llamacppF32 : peers->llamacppF16));
            const PhaseResult* p = phase(m, "prefill");
            out << format("  %-14s prefill %lld tokens %8.1f tokens/s, %.1f GFLOP/s = %.0f%% of "
                          "the fp32 matmul ceiling (target >= 60%%)\n",
                          label, (long long)p->tokens, p->tokensPerSecond(), p->gflops(),
                          100 * fraction(p->gflops(), limits.matmulCeiling));
        }
        for (const std::string& note : peers->notes)
            out << "  note: " << note << "\n";
    }

    if (generate && !models.empty()) {
        const GenerateResult& g = *generate;
        double rawDecode = 0;
        for (const PhaseResult& p : models.front().phases) {
            if (p.phase == "decode" && p.batch == 1)
                rawDecode = p.tokensPerSecond();
        }
        out << format("\nEnd to end: LanguageModel::generateTokens, %s, batch 1, greedy, %d new "
                      "tokens after a %d-token prompt (best of %d)\n",
                      models.front().name.c_str(), g.newTokens, g.promptTokens, g.reps)
            << format("  %.1f tokens/s including the prefill (%.2f ms; %.3f s in all); decode "
                      "loop %.1f tokens/s = %.0f%% of the raw batch-1 decode above\n",
                      g.tokensPerSecond(), 1000 * g.prefillSeconds, g.wallSeconds,
                      g.decodeTokensPerSecond(), 100 * fraction(g.decodeTokensPerSecond(),
                                                                rawDecode));
    }
}

json kernelJson(const KernelResult& k, const char* unit)
{
    return {{"name", k.name},       {"rate", k.rate()},
            {"unit", unit},         {"workPerRep", k.workPerRep},
            {"bestSeconds", k.bestSeconds}, {"reps", k.reps},
            {"countsForCeiling", k.countsForCeiling}, {"readOnly", k.readOnly}};
}

json toJson(const json& setup, const MachineLimits& limits, const std::vector<ModelReport>& models,
            const std::optional<GenerateResult>& generate, const PeerFigures* peers)
{
    json j;
    if (peers) {
        j["peers"] = {{"model", peers->model},
                      {"llama2cTokensPerSecond", peers->llama2c},
                      {"llamacppF32TokensPerSecond", peers->llamacppF32},
                      {"llamacppF16TokensPerSecond", peers->llamacppF16}};
    }
    j["setup"] = setup;
    json bandwidth = json::array(), matmul = json::array();
    for (const KernelResult& k : limits.bandwidth)
        bandwidth.push_back(kernelJson(k, "GB/s"));
    for (const KernelResult& k : limits.matmul)
        matmul.push_back(kernelJson(k, "GFLOP/s"));
    j["limits"] = {{"bandwidth", bandwidth},
                   {"matmul", matmul},
                   {"bandwidthCeilingGBps", limits.bandwidthCeiling},
                   {"readCeilingGBps", limits.readCeiling},
                   {"matmulCeilingGflops", limits.matmulCeiling}};
    j["models"] = json::array();
    for (const ModelReport& m : models) {
        json phases = json::array();
        for (const PhaseResult& p : m.phases) {
            const Roofline r = roofline(p, limits);
            phases.push_back({{"phase", p.phase},
                              {"batch", p.batch},
                              {"tokens", p.tokens},
                              {"forwardCalls", p.forwardCalls},
                              {"seconds", p.seconds},
                              {"tokensPerSecond", p.tokensPerSecond()},
                              {"flops", p.work.flops},
                              {"bytes", p.work.bytes},
                              {"gflops", p.gflops()},
                              {"gbps", p.gbps()},
                              {"fractionOfMatmulCeiling",
                               fraction(p.gflops(), limits.matmulCeiling)},
                              {"fractionOfBandwidthCeiling",
                               fraction(p.gbps(), limits.bandwidthCeiling)},
                              {"fractionOfReadCeiling", fraction(p.gbps(), limits.readCeiling)},
                              {"rooflineGflops", r.attainableGflops},
                              {"rooflineBound", r.bound},
                              {"fractionOfRoofline", fraction(p.gflops(), r.attainableGflops)}});
        }
        j["models"].push_back(
            {{"name", m.name},
             {"config", json::parse(m.config.toJson())},
             {"parameterCount", m.config.parameterCount()},
             {"matmulWeightCount", matmulWeightCount(m.config)},
             {"bytesPerValue", m.bytesPerValue},
             {"reps", m.reps},
             {"createSeconds", m.createSeconds},
             {"othersCpuShare", m.othersCpu},
             {"memory",
              {{"rssBeforeCreateBytes", m.beforeCreate.rssBytes},
               {"rssAfterCreateBytes", m.afterCreate.rssBytes},
               {"peakDuringCreateBytes", m.peakDuringCreate},
               {"peakDuringRunBytes", m.peakDuringRun}}},
             {"phases", phases}});
    }
    if (generate) {
        j["generate"] = {{"model", models.front().name},
                         {"promptTokens", generate->promptTokens},
                         {"newTokens", generate->newTokens},
                         {"reps", generate->reps},
                         {"wallSeconds", generate->wallSeconds},
                         {"prefillSeconds", generate->prefillSeconds},
                         {"decodeSeconds", generate->decodeSeconds},
                         {"tokensPerSecond", generate->tokensPerSecond()},
                         {"decodeTokensPerSecond", generate->decodeTokensPerSecond()}};
    }
    return j;
}

// ---- peers: the same model in llama2.c and llama.cpp, measured in the same run ----

std::string runCommand(const std::string& command, int* status)
{
    std::string output;
    if (FILE* pipe = popen(command.c_str(), "r")) {
        char buffer[4096];
        size_t n;
        while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
            output.append(buffer, n);
        *status = pclose(pipe);
    } else {
        *status = -1;
    }
    return output;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// llama2.c prints "achieved tok/s: X" after generating; the best of three runs counts.
double measureLlama2c(const std::string& peers, const std::string& tokenizer, int threads)
{
    double best = -1;
    for (int rep = 0; rep < 3; ++rep) {
        int status = 0;
        const std::string out = runCommand(
            "OMP_NUM_THREADS=" + std::to_string(threads) + " " + quoted(peers + "/run") + " "
                + quoted(peers + "/m/llama2c.bin") + " -n 200 -t 0 -z " + quoted(tokenizer)
                + " -i 'Once upon a time' 2>&1",
            &status);
        const size_t at = out.find("achieved tok/s:");
        if (status != 0 || at == std::string::npos)
            throw std::runtime_error("llama2.c did not run: " + out.substr(0, 300));
        best = std::max(best, std::atof(out.c_str() + at + 15));
    }
    return best;
}

// llama-bench's decode (tg64) of the f32 and f16 GGUF files, when llama.cpp is built there.
void measureLlamaCpp(const std::string& peers, int threads, PeerFigures* figures)
{
    const std::string bench = peers + "/llamacpp/build/bin/llama-bench";
    if (!std::ifstream(bench).good()) {
        figures->notes.push_back("llama.cpp's llama-bench is not built in " + peers);
        return;
    }
    int status = 0;
    const std::string out =
        runCommand(quoted(bench) + " -m " + quoted(peers + "/m/model-f32.gguf") + ","
                       + quoted(peers + "/m/model-f16.gguf") + " -t " + std::to_string(threads)
                       + " -p 0 -n 64 -r 3 -o json 2>/dev/null",
                   &status);
    try {
        for (const json& row : json::parse(out)) {
            const std::string file = row.value("model_filename", std::string());
            const double rate = row.value("avg_ts", -1.0);
            if (file.find("f32") != std::string::npos)
                figures->llamacppF32 = rate;
            else if (file.find("f16") != std::string::npos)
                figures->llamacppF16 = rate;
        }
    } catch (const json::exception&) {
        figures->notes.push_back("llama-bench printed no JSON (exit " + std::to_string(status)
                                 + ")");
    }
}

// Creates a model with `create`, recording time and memory around it, then measures it.
template <typename Create>
ModelReport benchmarkModel(const std::string& name, Create create, const SpeedOptions& options,
                           int64_t* processPeak, std::optional<GenerateResult>* generate,
                           int generateTokens)
{
    ModelReport report;
    report.name = name;
    report.reps = options.reps;
    progress("creating " + name);
    const CpuTimes cpuStart = readCpuTimes();
    resetPeakMemory();
    report.beforeCreate = readMemory();
    const auto start = Clock::now();
    const LanguageModel model = create();
    report.createSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.afterCreate = readMemory();
    report.peakDuringCreate = report.afterCreate.peakBytes;
    report.config = model.config();
    report.bytesPerValue = int64_t(torch::elementSize(model.impl().model->dtypeOf()));
    progress(format("created in %.1f s; measuring prefill and decode", report.createSeconds));

    resetPeakMemory();
    report.phases = measureSpeed(model, options);
    if (generate) {
        progress("measuring generateTokens");
        *generate = measureGenerate(model, int(options.promptTokens), generateTokens, 3, 11);
    }
    report.peakDuringRun = readMemory().peakBytes;
    report.othersCpu = othersCpuShare(cpuStart, readCpuTimes());
    *processPeak = std::max({*processPeak, report.peakDuringCreate, report.peakDuringRun});
    return report;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Measures the model engine's prefill and decode speed as fractions of this "
                 "machine's memory bandwidth and matmul throughput, measured in the same run."};
    int threads = 2;
    std::string baseDir;
    bool skipTinyLlama = false;
    bool jsonOutput = false;
    SpeedOptions speed;
    int smallReps = 5;
    int generateTokens = 64;
    LimitOptions limitOptions;
    std::string peersDir;
    std::string peerTokenizer;
    app.add_option("--threads", threads, "torch and OpenBLAS threads")->check(CLI::Range(1, 256))
        ->capture_default_str();
    app.add_option("--base", baseDir,
                   "folder of the small base (config.json + model.safetensors); default: random "
                   "weights of its shape")
        ->check(CLI::ExistingDirectory);
    app.add_flag("--skip-tinyllama", skipTinyLlama,
                 "skip the TinyLlama-1.1B-shaped model (4.4 GB, most of the run time)");
    app.add_flag("--json", jsonOutput, "print one JSON object on stdout; the table goes to stderr");
    app.add_option("--prompt-tokens", speed.promptTokens, "prefill length")
        ->check(CLI::Range(1, 4096))->capture_default_str();
    app.add_option("--decode-steps", speed.decodeSteps, "single-token steps after the prefill")
        ->check(CLI::Range(1, 4096))->capture_default_str();
    app.add_option("--small-reps", smallReps, "repetitions for the small model (TinyLlama: 1)")
        ->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_option("--generate-tokens", generateTokens, "new tokens of the end-to-end figure")
        ->check(CLI::Range(1, 4096))->capture_default_str();
    app.add_option("--array-mib", limitOptions.arrayMiB, "size of each bandwidth array (MiB)")
        ->check(CLI::Range(16, 65536))->capture_default_str();
    app.add_option("--peers", peersDir,
                   "the peers' folder (../shared/peers/build-peers.sh): measure its shape m in "
                   "fp32 and as a bf16 copy beside llama2.c and llama.cpp on the same model")
        ->check(CLI::ExistingDirectory);
    app.add_option("--peer-tokenizer", peerTokenizer,
                   "llama2.c's tokenizer.bin (../shared/peers/llama2c/tokenizer.bin); needed "
                   "with --peers")
        ->check(CLI::ExistingFile);
    CLI11_PARSE(app, argc, argv);
    if (!peersDir.empty() && peerTokenizer.empty()) {
        std::fprintf(stderr, "bench_model: --peers needs --peer-tokenizer (llama2.c's "
                             "tokenizer.bin, in ../shared/peers/llama2c/)\n");
        return 2;
    }

    try {
        torch::set_num_threads(threads);
        const BlasInfo blas = setBlasThreads(threads);
        limitOptions.threads = threads;
        json setup = {{"cpu", cpuName()},
                      {"torchVersion", TORCH_VERSION},
                      {"torchThreads", torch::get_num_threads()},
                      {"blas", blas.config},
                      {"blasCore", blas.core},
                      {"blasThreads", blas.threads},
                      {"promptTokens", speed.promptTokens},
                      {"decodeSteps", speed.decodeSteps},
                      {"openblasCoretype", std::getenv("OPENBLAS_CORETYPE")
                                               ? std::getenv("OPENBLAS_CORETYPE") : ""},
                      {"loadAverageStart", loadAverage()},
                      {"kernels", moin::kernels::isaName(moin::kernels::bestIsa())}};
        setup["warnings"] = json::array();
        __builtin_cpu_init();
        if (blas.core == "Prescott" && __builtin_cpu_supports("avx2")) {
            // OpenBLAS's DYNAMIC_ARCH falls back to its oldest x86-64 kernels for CPU models
            // newer than the release (0.3.21 predates Sapphire/Emerald Rapids).
            setup["warnings"].push_back(
                "OpenBLAS did not recognise this CPU and runs its Prescott (SSE3) kernels; "
                "OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) in the environment "
                "selects faster ones");
        }
        int64_t processPeak = readMemory().peakBytes;

        const CpuTimes runStart = readCpuTimes();
        progress("measuring the machine's limits (bandwidth, matmul)");
        resetPeakMemory();
        const MachineLimits limits = measureMachineLimits(limitOptions);
        setup["othersCpuShareLimits"] = othersCpuShare(runStart, readCpuTimes());
        processPeak = std::max(processPeak, readMemory().peakBytes);
        progress(format("bandwidth ceiling %.1f GB/s, matmul ceiling %.1f GFLOP/s",
                        limits.bandwidthCeiling, limits.matmulCeiling));

        std::vector<ModelReport> models;
        std::optional<GenerateResult> generate;
        SpeedOptions smallSpeed = speed;
        smallSpeed.reps = smallReps;
        if (baseDir.empty()) {
            models.push_back(benchmarkModel(
                "small base shape (random)",
                [] { return LanguageModel::random(smallBaseShape(), 1); }, smallSpeed,
                &processPeak, &generate, generateTokens));
        } else {
            models.push_back(benchmarkModel(
                "small base (loaded)", [&] { return LanguageModel::load(baseDir); }, smallSpeed,
                &processPeak, &generate, generateTokens));
        }
        std::optional<PeerFigures> peers;
        if (!peersDir.empty()) {
            peers.emplace();
            peers->model = peersDir + "/m";
            progress("llama2.c on " + peers->model);
            peers->llama2c = measureLlama2c(peersDir, peerTokenizer, threads);
            progress("llama.cpp's llama-bench");
            measureLlamaCpp(peersDir, threads, &*peers);
            SpeedOptions peerSpeed = speed;
            peerSpeed.batches = {1};
            peerSpeed.decodeSteps = std::max<int64_t>(speed.decodeSteps, 64);
            peerSpeed.reps = 3;
            models.push_back(benchmarkModel(
                "m fp32 (peers)",
                [&] { return LanguageModel::load(peers->model, {"cpu", "float32", false}); },
                peerSpeed, &processPeak, nullptr, 0));
            // The bf16 copy the decoder reads as 2-byte weights (written once per run).
            const std::string copy = "/tmp/moin-bench-m-bf16-" + std::to_string(getpid());
            LanguageModel::load(peers->model, {"cpu", "float32", false}).save(copy, "bfloat16");
            models.push_back(benchmarkModel(
                "m bf16 copy",
                [&] { return LanguageModel::load(copy, {"cpu", "bfloat16", false}); }, peerSpeed,
                &processPeak, nullptr, 0));
            std::filesystem::remove_all(copy);
        }
        if (!skipTinyLlama) {
            SpeedOptions tinySpeed = speed;
            tinySpeed.reps = 1;
            models.push_back(benchmarkModel(
                "TinyLlama-1.1B shape (random)",
                [] { return LanguageModel::random(LlamaConfig::tinyLlama(), 1); }, tinySpeed,
                &processPeak, nullptr, 0));
        }
        setup["loadAverageEnd"] = loadAverage();
        setup["othersCpuShare"] = othersCpuShare(runStart, readCpuTimes());
        if (setup["othersCpuShare"].get<double>() > 0.05) {
            setup["warnings"].push_back(format(
                "other processes took %.0f%% of the CPUs during the run: the figures are low",
                100 * setup["othersCpuShare"].get<double>()));
        }
        setup["processPeakBytes"] = processPeak;
        setup["totalSeconds"] = std::chrono::duration<double>(Clock::now() - kStart).count();
        progress("done");

        const PeerFigures* peerFigures = peers ? &*peers : nullptr;
        printReport(jsonOutput ? std::cerr : std::cout, setup, limits, models, generate,
                    peerFigures);
        if (jsonOutput)
            std::cout << toJson(setup, limits, models, generate, peerFigures).dump(2) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_model: %s\n", e.what());
        return 1;
    }
}
