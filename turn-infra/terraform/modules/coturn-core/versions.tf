terraform {
  # Provider-free on purpose: everything this module decides is rendered text, so it can be
  # planned and tested offline (`terraform test`) where no provider can be installed.
  required_version = ">= 1.6.0"
}
