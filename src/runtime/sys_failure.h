// What a child-side security step returns: the errno of the failing kernel call and a static
// string naming the step. Never allocates, never throws: safe in the clone child.
#pragma once

namespace mydock::runtime {

struct SysFailure {
    int err = 0;                // 0: success
    const char* what = nullptr; // static, e.g. "capset"
    explicit operator bool() const noexcept { return err != 0; }
};

}  // namespace mydock::runtime
