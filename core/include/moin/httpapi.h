#pragma once
// The local HTTP API: OpenAI's wire format (/v1/models, /v1/chat/completions, /v1/completions,
// streamed as server-sent events or not) over a ServingEngine. Each answer also carries the
// routing decision in an extra "moin" field, and every request is recorded in the workspace as
// a conversation (source "api"). With an upstream, generation is forwarded to another
// OpenAI-compatible server while routing and the record stay here. The HTTP library stays
// behind this header.
#include "moin/cancel.h"

#include <cstdint>
#include <memory>
#include <string>

namespace moin {

class ServingEngine;

/// Where `moin serve --upstream` forwards generation.
struct UpstreamOptions {
    /// An OpenAI-compatible server holding the experts as named adapters ("expert-N", and
    /// "base" for the base model alone): "http://HOST:PORT" (a trailing "/v1" is accepted).
    /// Empty: this server generates itself. Default empty.
    std::string url;
    /// Sent as "Authorization: Bearer <apiKey>" to the upstream. Default none.
    std::string apiKey;
    /// Seconds to connect, and to wait for each piece of the answer, before giving up with
    /// HTTP 504. Default 120.
    double timeoutSeconds = 120;
};

struct HttpApiOptions {
    /// Address to listen on. Default 127.0.0.1 (this machine only); "0.0.0.0" for every
    /// interface.
    std::string host = "127.0.0.1";
    /// TCP port; 0 picks a free one (see HttpApiServer::port()). Default 8080.
    int port = 8080;
    /// When set, every request needs "Authorization: Bearer <apiKey>" (else 401). Default none.
    std::string apiKey;
    /// Largest request body in bytes; larger ones get 413. Default 1 MiB.
    int64_t maxBodyBytes = int64_t(1) << 20;
    /// HTTP worker threads: connections served at once (each waits for its answer on one).
    /// Default 64.
    int threads = 64;
    /// Seconds an idle keep-alive connection is kept (it holds a worker thread). Default 5.
    int keepAliveSeconds = 5;
    /// Workspace folder in which every request is recorded as a conversation; empty records
    /// nothing.
    std::string workspaceDirectory;
    /// When upstream.url is set, requests are routed here and generated there, with `model`
    /// set to the chosen expert's name; the engine may then be routing-only.
    UpstreamOptions upstream;
};

/// Counters since start(), for logs and tests.
struct HttpApiStats {
    /// Completion requests answered (streamed or not), errors excluded.
    int64_t completions = 0;
    /// Requests refused with a 4xx or 5xx status.
    int64_t errors = 0;
    /// Streams whose client went away before the end (their request was cancelled).
    int64_t disconnects = 0;
    /// Conversations written to the workspace, and writes that failed (logged to stderr).
    int64_t recorded = 0;
    int64_t recordFailures = 0;
    /// Requests forwarded to the upstream, and those it failed (unreachable, timed out,
    /// refused, malformed, cut mid-stream).
    int64_t forwarded = 0;
    int64_t upstreamFailures = 0;
};

/// An OpenAI-compatible server over one engine. The engine must outlive the server.
/// start() and stop() are for one controlling thread; requests are served on the server's own
/// worker threads.
class HttpApiServer {
public:
    HttpApiServer(ServingEngine& engine, HttpApiOptions options = {});
    /// Stops the server if it runs.
    ~HttpApiServer();
    HttpApiServer(const HttpApiServer&) = delete;
    HttpApiServer& operator=(const HttpApiServer&) = delete;

    /// Binds and starts serving on a background thread; returns at once. Throws moin::Error if
    /// the address cannot be bound (the message names it) or the options are out of range.
    void start();
    /// Stops accepting, cancels streams in progress and waits for the workers to finish.
    void stop();
    /// start() (unless running), then blocks until `cancel` is set; then stop().
    void run(const CancelToken& cancel);
    bool isRunning() const;

    /// The bound port (the one picked when options.port was 0); 0 before start().
    int port() const;
    /// "http://HOST:PORT" of the bound address.
    std::string url() const;
    HttpApiStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace moin
