#pragma once
// The client half of `moin serve --upstream`: requests forwarded to another OpenAI-compatible
// server (vLLM with --enable-lora, LoRAX, another `moin serve`), its failures turned into
// statuses and messages a client can act on, and its server-sent events read as they arrive.
// Private to the core (cpp-httplib stays out of the public headers).
#include "moin/httpapi.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace httplib {
class Client;
}

namespace moin {

/// The upstream could not be reached, did not answer in time, refused the request or answered
/// something that is not an OpenAI response. `status` is what our client gets: 502 (unreachable,
/// failed, malformed), 504 (timed out) or the upstream's own 4xx; the message names the upstream
/// URL, what happened and what to do.
struct UpstreamFailure : std::runtime_error {
    UpstreamFailure(int status, const std::string& message, std::string code,
                    std::string type = "server_error", std::string param = {});
    int status;
    std::string code;
    std::string type;
    std::string param;
};

/// One streamed request to the upstream, read on a thread of its own so that the HTTP status is
/// known before our client's response begins. Destroying it cancels the request.
class UpstreamStream {
public:
    ~UpstreamStream();
    UpstreamStream(const UpstreamStream&) = delete;
    UpstreamStream& operator=(const UpstreamStream&) = delete;

    /// Blocks until the upstream's status line arrived or the request failed. Throws
    /// UpstreamFailure for a failure or a status other than 200 (the body is read first).
    void waitForStart();
    /// The next complete server-sent event ("data: ..." or ": comment", without the blank line
    /// that ends it), waiting at most `waitSeconds`. nullopt: none yet (see finished()).
    std::optional<std::string> nextEvent(double waitSeconds);
    /// The upstream closed the response (whole or cut) and every event was taken.
    bool finished();
    /// Why the response ended early: empty when it ended normally.
    std::string failure();
    /// Stops reading: the upstream sees its client leave.
    void cancel();

private:
    friend class UpstreamClient;
    UpstreamStream() = default;
    std::string describeErrorLocked() const;
    /// Seconds between the last byte received (or the start) and the end of the request.
    double silentSeconds() const;

    std::unique_ptr<httplib::Client> m_client;
    std::string m_url;
    double m_timeoutSeconds = 0;
    std::thread m_thread;
    std::atomic<bool> m_cancelled {false};

    std::mutex m_mutex;
    std::condition_variable m_changed;
    // guarded by m_mutex:
    bool m_started = false;
    int m_status = 0;
    std::string m_buffer;
    bool m_done = false;
    int m_error = 0; ///< httplib::Error of the finished request
    std::chrono::steady_clock::time_point m_lastData; ///< the start, then the last byte
    std::chrono::steady_clock::time_point m_endedAt; ///< when the request ended
};

/// Sends requests to one upstream server. Thread-safe: each call uses its own connection.
class UpstreamClient {
public:
    /// Checks the URL ("http://HOST:PORT", "https://...", an optional path prefix, a trailing
    /// "/v1" dropped) and the timeout; throws moin::Error naming what is wrong.
    explicit UpstreamClient(UpstreamOptions options);
    ~UpstreamClient();

    /// The URL as given (for messages and the "moin" field).
    const std::string& url() const { return m_options.url; }
    double timeoutSeconds() const { return m_options.timeoutSeconds; }

    /// POSTs a JSON body to `path` ("/v1/chat/completions") and returns the JSON answer of a
    /// 200. Throws UpstreamFailure otherwise.
    nlohmann::json post(const std::string& path, const std::string& body) const;
    /// Starts a streamed POST; see UpstreamStream::waitForStart().
    std::shared_ptr<UpstreamStream> stream(const std::string& path, const std::string& body) const;

private:
    friend class UpstreamStream;
    std::unique_ptr<httplib::Client> connect() const;
    UpstreamFailure statusFailure(int status, const std::string& body) const;

    UpstreamOptions m_options;
    std::string m_origin; ///< scheme://host:port
    std::string m_prefix; ///< path before /v1, "" or "/something"
};

} // namespace moin
