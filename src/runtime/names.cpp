#include "runtime/names.h"

#include <array>

#include "common/random.h"

namespace mydock::runtime {

namespace {

constexpr std::array kAdjectives = {
    "agile",    "amber",    "ample",    "ardent",   "astute",   "balmy",    "bold",     "brave",
    "breezy",   "bright",   "brisk",    "calm",     "candid",   "careful",  "cheerful", "civil",
    "clever",   "cosmic",   "crisp",    "curious",  "daring",   "deft",     "diligent", "dreamy",
    "eager",    "earnest",  "elated",   "elegant",  "epic",     "fair",     "fearless", "fervent",
    "festive",  "fond",     "frank",    "gallant",  "gentle",   "gifted",   "glad",     "golden",
    "graceful", "hardy",    "hearty",   "honest",   "humble",   "jolly",    "jovial",   "keen",
    "kind",     "lively",   "loyal",    "lucid",    "lucky",    "merry",    "mellow",   "mighty",
    "modest",   "nimble",   "noble",    "patient",  "placid",   "plucky",   "polite",   "proud",
    "quick",    "quiet",    "radiant",  "rapid",    "ready",    "serene",   "sharp",    "shy",
    "sincere",  "smart",    "snappy",   "solid",    "spry",     "steady",   "stoic",    "sturdy",
    "sunny",    "swift",    "tender",   "thrifty",  "tidy",     "trusty",   "upbeat",   "valiant",
    "vibrant",  "vivid",    "warm",     "wise",     "witty",    "zealous",  "zesty",    "youthful",
};

// Scientists, engineers and mathematicians.
constexpr std::array kSurnames = {
    "agnesi",    "archimedes", "babbage",   "banach",    "bernoulli", "bohr",      "boole",
    "cantor",    "cauchy",     "chebyshev", "curie",     "darwin",    "dijkstra",  "euclid",
    "euler",     "faraday",    "fermat",    "fermi",     "feynman",   "fibonacci", "franklin",
    "galileo",   "galois",     "gauss",     "germain",   "goedel",    "hamilton",  "hopper",
    "hubble",    "huygens",    "hypatia",   "jacobi",    "johnson",   "joule",     "kepler",
    "knuth",     "kovalevsky", "lagrange",  "lamarr",    "laplace",   "leibniz",   "lovelace",
    "markov",    "maxwell",    "meitner",   "mendel",    "minsky",    "napier",    "newton",
    "noether",   "ohm",        "pascal",    "pasteur",   "planck",    "poincare",  "ramanujan",
    "riemann",   "ritchie",    "rutherford","sagan",     "shannon",   "somerville","tesla",
    "thompson",  "torvalds",   "turing",    "volta",     "wiles",     "wozniak",   "yalow",
};

}  // namespace

std::string generateName(const std::function<bool(const std::string&)>& taken) {
    for (int attempt = 0;; ++attempt) {
        std::string name = std::string(kAdjectives[randomU64() % kAdjectives.size()]) + "_" +
                           kSurnames[randomU64() % kSurnames.size()];
        if (attempt >= 10) name += std::to_string(randomU64() % 10);
        if (attempt >= 1000) name += "_" + std::to_string(randomU64() % 1000000);
        if (!taken(name)) return name;
    }
}

bool validContainerName(const std::string& name) {
    if (name.size() < 2) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(name[0])) return false;
    for (char c : name)
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

}  // namespace mydock::runtime
