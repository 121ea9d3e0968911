// A small nfnetlink client for nf_tables (NETLINK_NETFILTER), like net_netlink.h is for
// rtnetlink: just what the bridge's per-container rules need (append a rule, flush a chain,
// ask whether a table exists), with its own encoder (no libnftnl, no `nft` process).
//
// Rules are built from the kernel's expressions (payload, cmp, meta, ...), the same ones nft
// generates for the same text (`nft --debug=netlink`), so `nft list` prints them the same.
// Changes go to the kernel as one batch (NFNL_MSG_BATCH_BEGIN ... END): one transaction.
//
// The socket's close is special: on the release of any bound NETLINK_NETFILTER socket, the
// kernel (nft_rcv_nl_event) takes the netns' commit_mutex and flushes the pending destruction of
// deleted rules (anyone's), which waits for an RCU grace period (~10 ms). After a batch,
// NfTables hands its socket to a short-lived orphan process that first waits a grace period on
// its own (holding no lock) and then closes it, so neither the caller nor the next batch waits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace mydock::runtime::net {

// One expression of a rule: its kernel name and its attributes (the NFTA_EXPR_DATA payload).
struct NftExpr {
    std::string name;
    std::vector<char> data;
};

// Builders for the expressions mydock uses. Registers are nft's (NFT_REG_1 = 1, NFT_REG_2 = 2,
// 16 bytes each); `value`, `mask` and `bytes` are raw, in the byte order the kernel compares.
namespace nftexpr {
enum class Base : std::uint32_t { Network = 1, Transport = 2 };   // NFT_PAYLOAD_*_HEADER
NftExpr payload(Base base, std::uint32_t offset, std::uint32_t len, std::uint32_t dreg = 1);
NftExpr cmp(bool equal, const std::vector<std::uint8_t>& value, std::uint32_t sreg = 1);
NftExpr bitwise(const std::vector<std::uint8_t>& mask, std::uint32_t reg = 1);   // reg = (reg & mask) ^ 0
NftExpr meta(std::uint32_t key, std::uint32_t dreg = 1);                         // NFT_META_*
NftExpr ct(std::uint32_t key, std::uint32_t dreg = 1);                           // NFT_CT_*
NftExpr immediate(const std::vector<std::uint8_t>& bytes, std::uint32_t dreg);
// dnat to the IPv4 address in `addrReg` and the port in `portReg` (nft's `dnat to A:P`).
NftExpr dnat(std::uint32_t addrReg, std::uint32_t portReg);
NftExpr masquerade();
}  // namespace nftexpr

// nftables' rule comment as NFTA_RULE_USERDATA: one TLV (type NFTNL_UDATA_RULE_COMMENT = 0,
// length including the NUL, the text). Throws mydock::Error when it does not fit (255 bytes).
std::vector<char> nftCommentUserdata(const std::string& comment);

// The messages of one transaction (family ip), in order.
class NftBatch {
public:
    // Appends a rule at the end of `table`'s `chain`; `what` names it in error messages.
    void appendRule(const std::string& table, const std::string& chain, const std::vector<NftExpr>& exprs,
                    const std::string& comment, const std::string& what);
    // Deletes every rule of the chain (a DELRULE without handle: `flush chain`).
    void flushChain(const std::string& table, const std::string& chain);

    bool empty() const { return msgs_.empty(); }
    std::size_t size() const { return msgs_.size(); }
    bool deletes() const { return deletes_; }
    const std::string& what(std::size_t i) const { return msgs_.at(i).what; }

    // The datagram: BATCH_BEGIN with sequence `seq`, message i with seq + 1 + i and NLM_F_ACK,
    // BATCH_END with seq + 1 + size().
    std::vector<char> encode(std::uint32_t seq) const;

private:
    struct Msg {
        std::uint16_t type;
        std::uint16_t flags;
        std::vector<char> attrs;
        std::string what;
    };
    std::vector<Msg> msgs_;
    bool deletes_ = false;
};

class NfTables {
public:
    // A socket in the caller's network namespace.
    static NfTables open();
    NfTables(NfTables&&) noexcept = default;
    NfTables& operator=(NfTables&&) = delete;
    // Closes the socket; after a commit, in a detached process (see the top).
    ~NfTables();

    // Whether `table ip <name>` exists.
    bool tableExists(const std::string& name);
    // Sends the batch as one transaction and reads every ack; the first error the kernel
    // reports becomes a mydock::Error (with its errno) naming the message it refused. All or
    // nothing: a refused message aborts the whole transaction.
    void commit(const NftBatch& batch);

private:
    explicit NfTables(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
    std::uint32_t seq_ = 1;
    bool deferClose_ = false;
};

// Closes `fd` (an nfnetlink socket) in a grandchild that outlives the call, after an RCU grace
// period: the caller only waits for a fork and a child's exit (~0.3 ms), never for the kernel's
// release work. The grandchild holds no other fd of the caller. Used by NfTables.
void closeDetached(UniqueFd fd);

}  // namespace mydock::runtime::net
