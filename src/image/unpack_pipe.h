// A bounded queue of byte chunks between the unpacker's pipeline stages. Bounded so that a
// fast producer blocks instead of buffering a whole blob; abortable so that a failing stage
// (or a cancelled unpack) wakes every blocked thread at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace mydock::image::unpack {

struct Chunk {
    std::unique_ptr<char[]> data;   // not value-initialised: filled right after allocation
    std::size_t len = 0;
    std::size_t cap = 0;

    static Chunk make(std::size_t cap) {
        Chunk c;
        c.data.reset(new char[cap]);
        c.cap = cap;
        return c;
    }
};

class ChunkQueue {
public:
    enum class Pop { Item, End, Aborted };

    explicit ChunkQueue(std::size_t capacity) : capacity_(capacity) {}

    // Blocks while full. False when the queue was aborted (the chunk is dropped).
    bool push(Chunk&& c) {
        std::unique_lock lk(m_);
        notFull_.wait(lk, [&] { return aborted_ || q_.size() < capacity_; });
        if (aborted_) return false;
        q_.push_back(std::move(c));
        notEmpty_.notify_one();
        return true;
    }

    // Blocks while empty and open.
    Pop pop(Chunk& out) {
        std::unique_lock lk(m_);
        notEmpty_.wait(lk, [&] { return aborted_ || closed_ || !q_.empty(); });
        if (aborted_) return Pop::Aborted;
        if (q_.empty()) return Pop::End;
        out = std::move(q_.front());
        q_.pop_front();
        notFull_.notify_one();
        return Pop::Item;
    }

    void close() {                   // producer's end of stream
        std::lock_guard lk(m_);
        closed_ = true;
        notEmpty_.notify_all();
    }

    void abort() {                   // wakes everybody; later push/pop fail
        std::lock_guard lk(m_);
        aborted_ = true;
        q_.clear();
        notEmpty_.notify_all();
        notFull_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable notFull_, notEmpty_;
    std::deque<Chunk> q_;
    std::size_t capacity_;
    bool closed_ = false;
    bool aborted_ = false;
};

}  // namespace mydock::image::unpack
