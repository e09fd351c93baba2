"""Code shown on the tutorial pages: every snippet a page displays lives here and is tested."""
