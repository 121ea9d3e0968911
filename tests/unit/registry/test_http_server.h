// A tiny HTTP/1.1 server for the registry client's tests: a listening socket on 127.0.0.1,
// one thread per connection, one request per connection ("Connection: close"), and a
// handler that decides each answer. Answers can be cut short or stall, to play a bad network.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mydock::testing {

struct TestRequest {
    std::string method, target;
    std::map<std::string, std::string> headers;   // names lower-case
    std::string body;
    std::string header(const std::string& n) const {
        auto it = headers.find(n);
        return it == headers.end() ? std::string() : it->second;
    }
    std::string path() const { return target.substr(0, target.find('?')); }
    std::string query() const {
        auto q = target.find('?');
        return q == std::string::npos ? std::string() : target.substr(q + 1);
    }
};

struct TestResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::size_t cutAfter = std::string::npos;  // send this many body bytes, then close
    int stallMs = 0;                           // after cutAfter bytes, wait this long first
    bool contentLength = true;                 // false: body delimited by closing the connection

    static TestResponse json(int status, std::string body) {
        TestResponse r;
        r.status = status;
        r.headers.emplace_back("Content-Type", "application/json");
        r.body = std::move(body);
        return r;
    }
};

class TestServer {
public:
    using Handler = std::function<TestResponse(const TestRequest&)>;

    explicit TestServer(Handler h) : handler_(std::move(h)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;   // any free port
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
            throw std::runtime_error("test server: cannot listen");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { acceptLoop(); });
    }

    ~TestServer() {
        stop_ = true;
        acceptor_.join();
        std::vector<std::thread> ts;
        {
            std::lock_guard lk(mu_);
            ts.swap(conns_);
        }
        for (auto& t : ts) t.join();
        ::close(fd_);
    }

    int port() const { return port_; }
    std::string hostPort() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string url() const { return "http://" + hostPort(); }
    std::vector<TestRequest> requests() const {
        std::lock_guard lk(mu_);
        return log_;
    }
    // Requests whose path is `p` (the TLS probe and /v2/ pings left out of counts that way).
    int count(const std::string& p) const {
        std::lock_guard lk(mu_);
        int n = 0;
        for (const auto& r : log_) n += r.path() == p;
        return n;
    }

private:
    void acceptLoop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            std::lock_guard lk(mu_);
            conns_.emplace_back([this, c] { serve(c); ::close(c); });
        }
    }

    bool readSome(int c, std::string& buf) {
        char tmp[16384];
        for (int waited = 0; waited < 10000 && !stop_; waited += 50) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            ssize_t n = ::read(c, tmp, sizeof tmp);
            if (n <= 0) return false;
            buf.append(tmp, static_cast<size_t>(n));
            return true;
        }
        return false;
    }

    bool writeAll(int c, std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(c, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            s.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    void serve(int c) {
        std::string buf;
        if (!readSome(c, buf)) return;
        if (!buf.empty() && static_cast<unsigned char>(buf[0]) == 0x16) {
            // A TLS ClientHello on this plain port (the client probing HTTPS): answer as Go does.
            writeAll(c, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
            return;
        }
        std::size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos)
            if (!readSome(c, buf)) return;
        TestRequest req;
        std::string head = buf.substr(0, end);
        std::size_t pos = head.find("\r\n");
        std::string first = head.substr(0, pos);
        auto sp1 = first.find(' '), sp2 = first.rfind(' ');
        req.method = first.substr(0, sp1);
        req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        while (pos != std::string::npos && pos < head.size()) {
            std::size_t next = head.find("\r\n", pos + 2);
            std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string k = line.substr(0, colon), v = line.substr(colon + 1);
                for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                req.headers[k] = v;
            }
            pos = next;
        }
        req.body = buf.substr(end + 4);
        std::size_t want = req.header("content-length").empty() ? 0 : std::stoul(req.header("content-length"));
        while (req.body.size() < want)
            if (!readSome(c, req.body)) return;
        {
            std::lock_guard lk(mu_);
            log_.push_back(req);
        }
        TestResponse r = handler_(req);
        std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nConnection: close\r\n";
        bool haveLen = false;
        for (const auto& [k, v] : r.headers) {
            out += k + ": " + v + "\r\n";
            if (strcasecmp(k.c_str(), "content-length") == 0) haveLen = true;
        }
        if (!haveLen && r.contentLength) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
        out += "\r\n";
        if (req.method == "HEAD") {
            writeAll(c, out);
            return;
        }
        std::size_t n = std::min(r.cutAfter, r.body.size());
        if (!writeAll(c, out + r.body.substr(0, n))) return;
        for (int waited = 0; waited < r.stallMs && !stop_; waited += 20)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (r.stallMs > 0 && n < r.body.size()) writeAll(c, std::string_view(r.body).substr(n));
        ::shutdown(c, SHUT_WR);
    }

    Handler handler_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    mutable std::mutex mu_;
    std::vector<std::thread> conns_;
    std::vector<TestRequest> log_;
};

}  // namespace mydock::testing
