#pragma once
// A one-line progress bar on stderr for the command line: redrawn in place on a terminal, one
// line per ~5% otherwise (logs, CI, schedulers).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

class ProgressBar {
public:
    explicit ProgressBar(std::string label) : m_label(std::move(label)), m_tty(isatty(2)) {}
    ~ProgressBar() { finish(); }

    /// Shows done/total with a free-form detail ("loss 3.21, 1850 tok/s").
    void update(int64_t done, int64_t total, const std::string& detail)
    {
        const auto now = std::chrono::steady_clock::now();
        const double fraction = total > 0 ? double(done) / double(total) : 0;
        const double elapsed = std::chrono::duration<double>(now - m_start).count();
        const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
        if (!m_tty) {
            const int bucket = int(fraction * 20);
            if (bucket == m_lastBucket && done != total)
                return;
            m_lastBucket = bucket;
        }
        constexpr int kWidth = 28;
        const int filled = int(fraction * kWidth);
        std::string bar(filled, '#');
        bar.append(kWidth - filled, '-');
        std::fprintf(stderr, "%s%s [%s] %3d%% %lld/%lld %s, ETA %s%s", m_tty ? "\r" : "",
                     m_label.c_str(), bar.c_str(), int(fraction * 100), (long long)done,
                     (long long)total, detail.c_str(), duration(eta).c_str(),
                     m_tty ? "\033[K" : "\n");
        std::fflush(stderr);
        m_drawn = true;
    }

    void finish()
    {
        if (m_drawn && m_tty)
            std::fprintf(stderr, "\n");
        m_drawn = false;
    }

    static std::string duration(double seconds)
    {
        const long s = long(seconds + 0.5);
        char text[32];
        if (s >= 3600)
            std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
        else
            std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
        return text;
    }

private:
    std::string m_label;
    bool m_tty;
    bool m_drawn = false;
    int m_lastBucket = -1;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};
