"""What the tests share and what no test module should import from another: stores built from a
template, the markers set by what a test uses, staff helpers, the test-sized request class."""
