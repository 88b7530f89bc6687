#pragma once
#include <atomic>

namespace moin {

/// Asks long work to stop. Set from any thread; the work checks it between steps and returns
/// early (it reports, not throws, that it was cancelled, unless its documentation says so).
class CancelToken {
public:
    void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    void reset() { m_cancelled.store(false, std::memory_order_relaxed); }
    bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> m_cancelled{false};
};

} // namespace moin
