// Placeholder so the library has a source until the module lands.
namespace mydock { int runtime_placeholder = 0; }
