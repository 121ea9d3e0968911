// Placeholder so the library has a source until the module lands.
namespace mydock { int image_placeholder = 0; }
